// libFuzzer target: the HDF5 front end on arbitrary bytes — the isolated reader (io/isolate.hpp:
// fork, limits, the answer frame, the shared buffer) and, in its child, the checks that refuse
// external links, external raw storage and virtual datasets before any data is read
// (tests/fuzz/fuzz_inputs.hpp). A crash of libhdf5 itself is the child's and comes back as an
// embedlab::Error; anything that escapes the parent is a bug.
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded([&] {
    const bool named = size > 0 && (data[size - 1] & 1) != 0;
    embedlab::fuzz::read_hdf5_file(embedlab::fuzz::scratch_file("input.h5", data, size), named);
  });
}
