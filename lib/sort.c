/*
 * sort.c - qsort(3) comparators shared by the library and the daemon.
 */
#include "sort.h"

int
sort_ulong_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}
