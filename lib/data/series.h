/* series.h — snippet features from multichannel time series.
 *
 * A series is N samples x C channels, row-major (one row per sample, as
 * a sensor log is written).  A sliding window of W samples moved by H
 * samples turns it into T = floor((N - W) / H) + 1 snippets; snippet t
 * covers samples [t*H, t*H + W), which is the stream's time grid with
 * stride H and clip W at the sample rate (METHODS.md §0).
 *
 * Each snippet gets TAL_SERIES_NSTATS statistics per channel, channel
 * after channel, in this order:
 *   mean     (1/W) sum x
 *   sd       population standard deviation, sqrt((1/W) sum (x - mean)^2)
 *   min, max
 *   energy   (1/W) sum x^2
 *   mad      mean absolute first difference, (1/(W-1)) sum |x[i+1] - x[i]|
 *            over consecutive samples inside the window (0 when W = 1)
 * All sums are taken in double precision.
 */
#ifndef TAL_DATA_SERIES_H
#define TAL_DATA_SERIES_H

#include <stddef.h>
#include <stdint.h>

#define TAL_SERIES_NSTATS 6

/* Names of the statistics, in feature order. */
extern const char *const tal_series_stat_names[TAL_SERIES_NSTATS];

/* A run of channels [first, first + count), 0-based. */
typedef struct {
    uint32_t first, count;
} tal_chan_range;

/* Snippets a window of `window` samples moved by `hop` yields over n
 * samples; 0 when n < window (or window or hop is 0). */
uint32_t tal_series_nsnippets(uint64_t n, uint32_t window, uint32_t hop);

/* Append one channel per range to x: the Euclidean norm of the range's
 * channels at every sample (the magnitude of a 3-axis sensor).
 * out is (n, c + nr), x is (n, c); out and x must not overlap.
 * Returns 0, or TAL_EINVAL if a range leaves the c channels. */
int tal_series_magnitude(float *out, const float *x, uint64_t n, uint32_t c,
                         const tal_chan_range *r, uint32_t nr);

/* Window statistics.  out is (T, c * TAL_SERIES_NSTATS) with
 * T = tal_series_nsnippets(n, window, hop) > 0; x is (n, c). */
void tal_series_window(float *out, const float *x, uint64_t n, uint32_t c,
                       uint32_t window, uint32_t hop);

#endif
