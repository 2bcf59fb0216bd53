#pragma once
// A thin layer over the HDF5 C API for the readers (HighFive style): identifiers that close
// themselves, HDF5's own error printing silenced, and its error stack turned into one line for our
// messages. Nothing above io/ sees an hid_t or a return code.
#include <hdf5.h>

#include <string>
#include <utility>

namespace embedlab::io::h5 {

// Owns one HDF5 identifier (file, group, dataset, type, space or property list).
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  ~Id() { reset(); }
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns off HDF5's automatic error-stack printing on the default stack while alive and restores
// the previous handler afterwards.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The current default error stack as one line: the API call's message, then the innermost cause
// (e.g. "unable to open file: truncated file: eof = 800, ..."). Call right after the failing call.
std::string error_stack();

// Link and object queries under the names of HDF5 1.10 and 1.12+.
// Type of the link `name` (H5L_TYPE_HARD/SOFT/EXTERNAL/...), or H5L_TYPE_ERROR when absent.
H5L_type_t link_type(hid_t loc, const std::string& name, hid_t lapl);
// Target path of the soft link `name`.
std::string soft_link_value(hid_t loc, const std::string& name, hid_t lapl);
// Object type behind a hard link (H5O_TYPE_GROUP, H5O_TYPE_DATASET, ...) or H5O_TYPE_UNKNOWN.
H5O_type_t object_type(hid_t loc, const std::string& name, hid_t lapl);

}  // namespace embedlab::io::h5
