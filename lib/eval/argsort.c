/* argsort.c — the order numpy's argsort gives, ties included.
 *
 * The ActivityNet evaluation ranks detections with argsort()[::-1] and a
 * detection's ground truth the same way.  numpy's default argsort is an
 * introsort (median-of-three quicksort, insertion sort below 17 elements,
 * heapsort past a depth limit), which is not stable: equal keys come out
 * in an order that depends on the algorithm.  To give exactly the numbers
 * the official code gives, this file sorts the same way.  Keys compare
 * as numpy compares doubles: a < b, with NaN after every number and NaNs
 * equal to each other.
 */
#include "eval.h"

#include <stddef.h>

static int before(double a, double b)
{
    return a < b || (b != b && a == a);
}

static void swap_idx(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

/* heapsort of idx[0..n) by v, 1-based heap arithmetic */
static void heap_sort(const double *v, uint32_t *idx, size_t n)
{
    uint32_t *h = idx - 1;   /* h[1..n] */
    for (size_t top = n / 2; top > 0; top--) {
        uint32_t x = h[top];
        size_t i = top, j = 2 * top;
        while (j <= n) {
            if (j < n && before(v[h[j]], v[h[j + 1]]))
                j++;
            if (!before(v[x], v[h[j]]))
                break;
            h[i] = h[j];
            i = j;
            j *= 2;
        }
        h[i] = x;
    }
    while (n > 1) {
        uint32_t x = h[n];
        h[n] = h[1];
        n--;
        size_t i = 1, j = 2;
        while (j <= n) {
            if (j < n && before(v[h[j]], v[h[j + 1]]))
                j++;
            if (!before(v[x], v[h[j]]))
                break;
            h[i] = h[j];
            i = j;
            j *= 2;
        }
        h[i] = x;
    }
}

#define SMALL 15
#define STACK 128

void tal_argsort_np(const double *v, uint32_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    if (n < 2)
        return;
    uint32_t *lo = idx, *hi = idx + n - 1;
    uint32_t *stack[STACK];
    int depths[STACK / 2];
    int sp = 0;
    int depth = 0;
    for (size_t m = n; m >>= 1;)
        depth++;
    depth *= 2;
    for (;;) {
        if (depth < 0) {
            heap_sort(v, lo, (size_t)(hi - lo + 1));
        } else {
            while (hi - lo > SMALL) {
                uint32_t *mid = lo + ((hi - lo) >> 1);
                if (before(v[*mid], v[*lo]))
                    swap_idx(mid, lo);
                if (before(v[*hi], v[*mid]))
                    swap_idx(hi, mid);
                if (before(v[*mid], v[*lo]))
                    swap_idx(mid, lo);
                double pivot = v[*mid];
                uint32_t *i = lo, *j = hi - 1;
                swap_idx(mid, j);
                for (;;) {
                    do
                        i++;
                    while (before(v[*i], pivot));
                    do
                        j--;
                    while (before(pivot, v[*j]));
                    if (i >= j)
                        break;
                    swap_idx(i, j);
                }
                swap_idx(i, hi - 1);
                /* the larger side waits on the stack */
                if (i - lo < hi - i) {
                    stack[sp++] = i + 1;
                    stack[sp++] = hi;
                    hi = i - 1;
                } else {
                    stack[sp++] = lo;
                    stack[sp++] = i - 1;
                    lo = i + 1;
                }
                depths[sp / 2 - 1] = --depth;
            }
            for (uint32_t *p = lo + 1; p <= hi; p++) {
                uint32_t x = *p;
                double key = v[x];
                uint32_t *q = p;
                while (q > lo && before(key, v[q[-1]])) {
                    *q = q[-1];
                    q--;
                }
                *q = x;
            }
        }
        if (sp == 0)
            break;
        hi = stack[--sp];
        lo = stack[--sp];
        depth = depths[sp / 2];
    }
}

void tal_rank_np(const double *v, uint32_t *idx, size_t n)
{
    tal_argsort_np(v, idx, n);
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--)
        swap_idx(&idx[i], &idx[j]);
}
