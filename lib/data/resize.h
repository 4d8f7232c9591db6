/* resize.h — features read at fractional snippet positions, and resampled
 * to a fixed number of snippets.
 *
 * The features at a real position p of a T x D row-major array are the
 * linear interpolation between rows floor(p) and floor(p) + 1, in double
 * precision, clamped to rows 0 and T - 1 outside; at a whole position the
 * row is copied bit for bit.  lblext reads extended records at its new
 * positions this way.
 *
 * BMN, G-TAD and SPOT pipelines feed every ActivityNet video as 100
 * snippets, ActionFormer's ActivityNet setting as 192 (force_upsampling).
 * tal_features_resize samples output snippet i at
 *   x = (i + 1/2) * T / N - 1/2,
 * PyTorch's interpolate(mode='linear', align_corners=False), which
 * ActionFormer uses, so that the N output snippets tile the same span as
 * the T input ones.
 */
#ifndef TAL_DATA_RESIZE_H
#define TAL_DATA_RESIZE_H

#include <stdint.h>

/* out: D values, the features of f (T x D) at position p. */
void tal_features_at(float *out, const float *f, uint32_t T, uint32_t D, double p);

/* dst: N x D, src: T x D, both row-major; N, T >= 1. */
void tal_features_resize(float *dst, uint32_t N, const float *src, uint32_t T, uint32_t D);

#endif
