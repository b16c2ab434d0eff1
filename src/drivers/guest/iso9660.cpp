#include "drivers/guest/iso9660.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error_codes.h"

namespace cvm::drivers::guest {
namespace {

constexpr size_t kSector = 2048;
// Layout: 16 empty sectors, PVD, Joliet SVD, terminator, four path tables, then the two root
// directories and the file data.
constexpr uint32_t kPvdSector = 16;
constexpr uint32_t kFirstPathTable = 19;
constexpr uint32_t kFirstDirSector = 23;

void Le16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v & 0xff);
  b[at + 1] = static_cast<char>(v >> 8);
}
void Be16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v >> 8);
  b[at + 1] = static_cast<char>(v & 0xff);
}
void Le32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void Be32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
}
void Both16(std::string& b, size_t at, uint16_t v) {
  Le16(b, at, v);
  Be16(b, at + 2, v);
}
void Both32(std::string& b, size_t at, uint32_t v) {
  Le32(b, at, v);
  Be32(b, at + 4, v);
}
// A text field padded with spaces; Joliet fields hold UCS-2 big-endian.
void Text(std::string& b, size_t at, size_t len, std::string_view s, bool ucs2) {
  for (size_t i = 0; i < len; ++i) b[at + i] = ' ';
  if (ucs2) {
    for (size_t i = 0; i + 1 < len; i += 2) {
      b[at + i] = 0;
      b[at + i + 1] = i / 2 < s.size() ? s[i / 2] : ' ';
    }
  } else {
    for (size_t i = 0; i < len && i < s.size(); ++i) b[at + i] = s[i];
  }
}

std::string Ucs2(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += '\0';
    out += c;
  }
  return out;
}

struct Entry {
  std::string id;  // identifier bytes as recorded
  uint32_t extent = 0;
  uint32_t size = 0;
  bool dir = false;
};

// One directory record (ECMA-119 9.1).
std::string DirRecord(const Entry& e, const std::tm& t) {
  size_t len = 33 + e.id.size();
  len += len % 2;
  std::string r(len, '\0');
  r[0] = static_cast<char>(len);
  Both32(r, 2, e.extent);
  Both32(r, 10, e.size);
  r[18] = static_cast<char>(t.tm_year);
  r[19] = static_cast<char>(t.tm_mon + 1);
  r[20] = static_cast<char>(t.tm_mday);
  r[21] = static_cast<char>(t.tm_hour);
  r[22] = static_cast<char>(t.tm_min);
  r[23] = static_cast<char>(t.tm_sec);
  r[24] = 0;  // UTC
  r[25] = e.dir ? 2 : 0;
  Both16(r, 28, 1);
  r[32] = static_cast<char>(e.id.size());
  std::copy(e.id.begin(), e.id.end(), r.begin() + 33);
  return r;
}

// The root directory's records, never crossing a sector boundary (ECMA-119 6.8.1.1).
std::string DirectoryData(uint32_t self, uint32_t size, const std::vector<Entry>& files,
                          const std::tm& t) {
  std::string d;
  auto add = [&d](const std::string& rec) {
    size_t room = kSector - d.size() % kSector;
    if (rec.size() > room) d.append(room, '\0');
    d += rec;
  };
  add(DirRecord({std::string(1, '\0'), self, size, true}, t));
  add(DirRecord({std::string(1, '\1'), self, size, true}, t));
  for (const auto& f : files) add(DirRecord(f, t));
  d.resize((d.size() + kSector - 1) / kSector * kSector, '\0');
  return d;
}

size_t Sectors(size_t bytes) { return (bytes + kSector - 1) / kSector; }

}  // namespace

Result<std::string> BuildIso9660(std::string_view volume_id, std::vector<IsoFile> files,
                                 std::time_t mtime) {
  if (volume_id.empty() || volume_id.size() > 16 ||
      volume_id.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
          std::string_view::npos) {
    return Status(kind::kBug, "iso9660: bad volume id");
  }
  std::sort(files.begin(), files.end(),
            [](const IsoFile& a, const IsoFile& b) { return a.name < b.name; });
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& n = files[i].name;
    if (n.empty() || n.size() > 64 ||
        n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos ||
        n.front() == '.' || (i > 0 && files[i - 1].name == n)) {
      return Status(kind::kBug, fmt::format("iso9660: bad file name '{}'", n));
    }
    if (files[i].data.size() > 0xffffffffu) {
      return Status(kind::kBug, "iso9660: file too large");
    }
  }
  std::tm t{};
  gmtime_r(&mtime, &t);

  // Identifiers of both trees; the primary one upper-cased with a version (".;1" without a dot).
  std::vector<Entry> primary, joliet;
  for (const auto& f : files) {
    std::string id = f.name;
    for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    id += id.find('.') == std::string::npos ? ".;1" : ";1";
    primary.push_back({id, 0, static_cast<uint32_t>(f.data.size()), false});
    joliet.push_back({Ucs2(f.name), 0, static_cast<uint32_t>(f.data.size()), false});
  }
  // Directory sizes do not depend on extents: lay out with zeros first, then fill in.
  const std::string p_dir0 = DirectoryData(0, 0, primary, t);
  const std::string j_dir0 = DirectoryData(0, 0, joliet, t);
  const uint32_t p_root = kFirstDirSector;
  const uint32_t j_root = p_root + static_cast<uint32_t>(Sectors(p_dir0.size()));
  uint32_t next = j_root + static_cast<uint32_t>(Sectors(j_dir0.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    primary[i].extent = joliet[i].extent = files[i].data.empty() ? 0 : next;
    next += static_cast<uint32_t>(Sectors(files[i].data.size()));
  }
  const uint32_t total = next;
  const auto p_size = static_cast<uint32_t>(p_dir0.size());
  const auto j_size = static_cast<uint32_t>(j_dir0.size());

  std::string img(static_cast<size_t>(total) * kSector, '\0');
  const std::string date = fmt::format("{:04}{:02}{:02}{:02}{:02}{:02}00", t.tm_year + 1900,
                                       t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  // Volume descriptors: primary (type 1) and Joliet supplementary (type 2), same layout.
  for (int v = 0; v < 2; ++v) {
    const bool j = v == 1;
    const size_t at = (kPvdSector + v) * kSector;
    img[at] = static_cast<char>(j ? 2 : 1);
    img.replace(at + 1, 5, "CD001");
    img[at + 6] = 1;
    Text(img, at + 8, 32, "", j);          // system identifier
    Text(img, at + 40, 32, volume_id, j);  // volume identifier: the label blkid reports
    Both32(img, at + 80, total);
    if (j) img.replace(at + 88, 3, "%/E");  // UCS-2 level 3
    Both16(img, at + 120, 1);               // volume set size
    Both16(img, at + 124, 1);               // volume sequence number
    Both16(img, at + 128, kSector);
    Both32(img, at + 132, 10);  // path table: the root's one record
    const uint32_t pt = kFirstPathTable + 2 * v;
    Le32(img, at + 140, pt);
    Be32(img, at + 148, pt + 1);
    const std::string root =
        DirRecord({std::string(1, '\0'), j ? j_root : p_root, j ? j_size : p_size, true}, t);
    img.replace(at + 156, root.size(), root);
    for (size_t f : {190, 318, 446, 574}) Text(img, at + f, 128, "", j);
    for (size_t f : {702, 739, 776}) Text(img, at + f, 37, "", j);
    img.replace(at + 813, 16, date);  // created
    img.replace(at + 830, 16, date);  // modified
    img.replace(at + 847, 16, "0000000000000000");
    img.replace(at + 864, 16, date);  // effective
    img[at + 881] = 1;
    // Path tables (little- and big-endian): the root directory only.
    for (int e = 0; e < 2; ++e) {
      const size_t p = (pt + e) * kSector;
      img[p] = 1;
      if (e == 0) {
        Le32(img, p + 2, j ? j_root : p_root);
        Le16(img, p + 6, 1);
      } else {
        Be32(img, p + 2, j ? j_root : p_root);
        Be16(img, p + 6, 1);
      }
    }
  }
  const size_t term = (kPvdSector + 2) * kSector;
  img[term] = static_cast<char>(255);
  img.replace(term + 1, 5, "CD001");
  img[term + 6] = 1;

  const std::string p_dir = DirectoryData(p_root, p_size, primary, t);
  const std::string j_dir = DirectoryData(j_root, j_size, joliet, t);
  img.replace(static_cast<size_t>(p_root) * kSector, p_dir.size(), p_dir);
  img.replace(static_cast<size_t>(j_root) * kSector, j_dir.size(), j_dir);
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].data.empty()) continue;
    img.replace(static_cast<size_t>(primary[i].extent) * kSector, files[i].data.size(),
                files[i].data);
  }
  return img;
}

}  // namespace cvm::drivers::guest
