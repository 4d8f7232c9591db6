/* half.h — IEEE 754 binary16 <-> binary32 conversion.
 *
 * Round to nearest even, subnormals kept, infinities and NaNs preserved
 * (NaNs become quiet).  The bulk functions use the F16C instructions when
 * the processor has them and give the same bits as the scalar code.
 */
#ifndef TAL_UTIL_HALF_H
#define TAL_UTIL_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t tal_f32_to_f16(float f);
float tal_f16_to_f32(uint16_t h);
void tal_f32_to_f16_n(uint16_t *dst, const float *src, size_t n);
void tal_f16_to_f32_n(float *dst, const uint16_t *src, size_t n);

#endif
