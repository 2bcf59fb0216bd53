#include "apps/embedlab/commands.hpp"
#include "core/provenance.hpp"

#include <fmt/format.h>

namespace embedlab::cli {

int cmd_version(int, char**) {
  const auto v = library_versions();
  fmt::print("embedlab {}\nArmadillo {}\nOpenBLAS {}\nHDF5 {}\nBoost {}\nfmt {}\n", v.embedlab, v.armadillo, v.openblas,
             v.hdf5, v.boost, v.fmt);
  return 0;
}

}  // namespace embedlab::cli
