#pragma once
// Nothing already written is lost: files are written to a temp name in the same directory, flushed,
// fsync'ed and renamed into place. Temp files in flight are registered so a SIGINT/SIGTERM handler
// can remove them with async-signal-safe calls only.
#include <string>
#include <string_view>

namespace embedlab {

// Writes `bytes` to `path` atomically (Exit::io / cant_create on failure).
void write_file_atomic(const std::string& path, std::string_view bytes);
// fsync of a directory (after a rename into it).
void fsync_dir(const std::string& dir);

// Registry of temp paths to delete on a fatal signal (fixed capacity; safe to read in a handler).
int register_temp(const std::string& path);  // returns a slot (or -1 when full)
void unregister_temp(int slot);
void remove_registered_temps() noexcept;  // async-signal-safe

}  // namespace embedlab
