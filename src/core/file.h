// Files: whole-file reads, read-only memory maps, and atomic writes (temp file, fsync, rename) so
// that a crash in the middle of a write never damages what the user already had.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trit {

std::string read_file(const std::string& path);
// The first n bytes (fewer if the file is shorter).
std::string read_file_prefix(const std::string& path, size_t n);
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// Creates the directory (and parents). Fails with a clear message if `path` exists as a file.
void make_directory(const std::string& path);

// Writes to "<path>.tmp.<pid>" and renames over `path` on commit(); the destination is either the
// old file or the complete new one. An uncommitted AtomicFile removes its temp file.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  uint64_t bytes_written() const { return written_; }
  void commit();  // flush, fsync file, rename, fsync directory

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view contents);

// Read-only memory map of a whole file.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace trit
