// embedlab::hdf5_version() lives in io/ because io/ is the only module that links HDF5.
#include "core/provenance.hpp"

#include <fmt/format.h>
#include <hdf5.h>

namespace embedlab {

// The version of the HDF5 library actually loaded at run time (may differ from the headers').
std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0)
    return fmt::format("{}.{}.{}", H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE);
  return fmt::format("{}.{}.{}", major, minor, release);
}

}  // namespace embedlab
