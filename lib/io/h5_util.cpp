#include "io/h5_util.hpp"

#include <vector>

namespace embedlab::io::h5 {

void Id::reset() {
  if (id_ >= 0) H5Idec_ref(id_);
  id_ = H5I_INVALID_HID;
}

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {
herr_t collect(unsigned, const H5E_error2_t* err, void* out) {
  auto& v = *static_cast<std::vector<std::string>*>(out);
  if (err->desc != nullptr && *err->desc != '\0' && (v.empty() || v.back() != err->desc)) v.emplace_back(err->desc);
  return 0;
}
}  // namespace

std::string error_stack() {
  std::vector<std::string> descs;  // from the API call down to where the error was detected
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &descs);
  if (descs.empty()) return "HDF5 reported an error without a message";
  if (descs.size() == 1) return "HDF5: " + descs.front();
  return "HDF5: " + descs.front() + ": " + descs.back();
}

H5L_type_t link_type(hid_t loc, const std::string& name, hid_t lapl) {
#if H5_VERSION_GE(1, 12, 0)
  H5L_info2_t info;
  if (H5Lget_info2(loc, name.c_str(), &info, lapl) < 0) return H5L_TYPE_ERROR;
#else
  H5L_info_t info;
  if (H5Lget_info(loc, name.c_str(), &info, lapl) < 0) return H5L_TYPE_ERROR;
#endif
  return info.type;
}

std::string soft_link_value(hid_t loc, const std::string& name, hid_t lapl) {
#if H5_VERSION_GE(1, 12, 0)
  H5L_info2_t info;
  if (H5Lget_info2(loc, name.c_str(), &info, lapl) < 0) return {};
#else
  H5L_info_t info;
  if (H5Lget_info(loc, name.c_str(), &info, lapl) < 0) return {};
#endif
  std::string value(info.u.val_size, '\0');
  if (value.empty() || H5Lget_val(loc, name.c_str(), value.data(), value.size(), lapl) < 0) return {};
  if (const auto nul = value.find('\0'); nul != std::string::npos) value.resize(nul);
  return value;
}

H5O_type_t object_type(hid_t loc, const std::string& name, hid_t lapl) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t info;
  if (H5Oget_info_by_name3(loc, name.c_str(), &info, H5O_INFO_BASIC, lapl) < 0) return H5O_TYPE_UNKNOWN;
#else
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, lapl) < 0) return H5O_TYPE_UNKNOWN;
#endif
  return info.type;
}

}  // namespace embedlab::io::h5
