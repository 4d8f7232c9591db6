/* endian.h — little-endian loads and stores, whatever the host order.
 *
 * Every integer and float in talcore's files is little-endian; these
 * helpers are the only place that knows it.
 */
#ifndef TAL_UTIL_ENDIAN_H
#define TAL_UTIL_ENDIAN_H

#include <stdint.h>
#include <string.h>

static inline uint16_t tal_le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t tal_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t tal_le64(const unsigned char *p)
{
    return (uint64_t)tal_le32(p) | ((uint64_t)tal_le32(p + 4) << 32);
}
static inline double tal_lef64(const unsigned char *p)
{
    uint64_t u = tal_le64(p);
    double d;
    memcpy(&d, &u, 8);
    return d;
}
static inline float tal_lef32(const unsigned char *p)
{
    uint32_t u = tal_le32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline void tal_put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static inline void tal_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static inline void tal_put64(unsigned char *p, uint64_t v) { tal_put32(p, (uint32_t)v); tal_put32(p + 4, (uint32_t)(v >> 32)); }
static inline void tal_putf64(unsigned char *p, double d) { uint64_t u; memcpy(&u, &d, 8); tal_put64(p, u); }
static inline void tal_putf32(unsigned char *p, float f) { uint32_t u; memcpy(&u, &f, 4); tal_put32(p, u); }

/* Arrays of floats are copied between memory and files as they lie, so the
 * host must be little-endian as well (x86-64, AArch64, RISC-V all are). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "talcore needs a little-endian host"
#endif

#endif
