#include "core/rng.hpp"

namespace embedlab::detail {

ZigguratTables::ZigguratTables() {
  // 256 layers of equal area v under f(x) = exp(-x²/2); r is the base layer's right edge.
  constexpr double r = 3.6541528853610088, v = 0.00492867323399;
  constexpr double m = 0x1.0p53;  // magnitudes are 53-bit integers
  double dn = r, tn = r;
  const double q = v / std::exp(-0.5 * dn * dn);
  k[0] = (dn / q) * m;
  k[1] = 0;
  w[0] = q / m;
  w[255] = dn / m;
  f[0] = 1.0;
  f[255] = std::exp(-0.5 * dn * dn);
  for (int i = 254; i >= 1; --i) {
    dn = std::sqrt(-2.0 * std::log(v / dn + std::exp(-0.5 * dn * dn)));
    k[i + 1] = (dn / tn) * m;
    tn = dn;
    f[i] = std::exp(-0.5 * dn * dn);
    w[i] = dn / m;
  }
}

const ZigguratTables& ziggurat_tables() {
  static const ZigguratTables t;
  return t;
}

}  // namespace embedlab::detail
