/*
 * sort.h - qsort(3) comparators shared by the library and the daemon.
 */
#ifndef MC_SORT_H
#define MC_SORT_H

/* Ascending unsigned longs. */
int	sort_ulong_cmp(const void *, const void *);

#endif
