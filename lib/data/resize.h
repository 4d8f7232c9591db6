/* resize.h — features resampled to a fixed number of snippets.
 *
 * BMN, G-TAD and SPOT pipelines feed every ActivityNet video as 100
 * snippets, ActionFormer's ActivityNet setting as 192 (force_upsampling).
 * Linear interpolation with half-snippet alignment (PyTorch's
 * interpolate(mode='linear', align_corners=False), which ActionFormer
 * uses): output snippet i samples the input at position
 *   x = (i + 1/2) * T / N - 1/2,
 * clamped to [0, T - 1], so that the N output snippets tile the same
 * span as the T input ones.  Sums in double precision.
 */
#ifndef TAL_DATA_RESIZE_H
#define TAL_DATA_RESIZE_H

#include <stdint.h>

/* dst: N x D, src: T x D, both row-major; N, T >= 1. */
void tal_features_resize(float *dst, uint32_t N, const float *src, uint32_t T, uint32_t D);

#endif
