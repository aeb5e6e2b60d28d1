#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/error.h"

namespace trit {

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  TRIT_CHECK(fd >= 0, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(strf("cannot read '%s': it is a directory or cannot be inspected", path.c_str()));
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r <= 0) {
      ::close(fd);
      fail(strf("error reading '%s': %s", path.c_str(), r == 0 ? "unexpected end" : std::strerror(errno)));
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return out;
}

std::string read_file_prefix(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY);
  TRIT_CHECK(fd >= 0, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
  std::string out(n, '\0');
  const ssize_t r = ::read(fd, out.data(), n);
  ::close(fd);
  out.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_directory(const std::string& path) {
  if (path_exists(path)) {
    TRIT_CHECK(is_directory(path), "'%s' exists and is not a directory", path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  TRIT_CHECK(!ec, "cannot create directory '%s': %s", path.c_str(), ec.message().c_str());
}

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  TRIT_CHECK(!is_directory(path), "cannot write '%s': it is a directory", path.c_str());
  tmp_ = path + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TRIT_CHECK(fd_ >= 0, "cannot create '%s': %s", tmp_.c_str(), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    TRIT_CHECK(w > 0, "error writing '%s': %s", tmp_.c_str(), std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
}

void AtomicFile::commit() {
  TRIT_CHECK(::fsync(fd_) == 0, "fsync '%s' failed: %s", tmp_.c_str(), std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  TRIT_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, "cannot rename '%s' to '%s': %s", tmp_.c_str(),
             path_.c_str(), std::strerror(errno));
  committed_ = true;
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  TRIT_CHECK(fd >= 0, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(strf("'%s' is not a regular file", path.c_str()));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail(strf("cannot map '%s': %s", path.c_str(), std::strerror(errno)));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
    path_ = std::move(o.path_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

}  // namespace trit
