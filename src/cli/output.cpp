#include "cli/output.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace cvm::cli {
namespace {

std::string Cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); })) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + e.get<std::string>();
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

void PrintRows(std::ostream& out, const nlohmann::json& items) {
  // Columns: the scalar (and string-list) fields of the items, in first-seen order.
  std::vector<std::string> cols;
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    for (auto it = item.begin(); it != item.end(); ++it) {
      bool simple = !it->is_object() && !(it->is_array() && !it->empty() && !(*it)[0].is_string());
      if (simple && std::find(cols.begin(), cols.end(), it.key()) == cols.end()) {
        cols.push_back(it.key());
      }
    }
  }
  if (cols.size() > 8) cols.resize(8);  // a terminal's width; --output json shows everything
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (const auto& c : cols) row.push_back(item.contains(c) ? Cell(item[c]) : "-");
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width;
  for (const auto& c : cols) width.push_back(c.size());
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i)
      width[i] = std::max(width[i], std::min<size_t>(r[i].size(), 48));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      std::string s = cells[i].size() > 48 ? cells[i].substr(0, 45) + "..." : cells[i];
      out << s << std::string(width[i] - s.size() + (i + 1 < cells.size() ? 2 : 0), ' ');
    }
    out << "\n";
  };
  line(cols);
  for (const auto& r : rows) line(r);
}

}  // namespace

void PrintTable(std::ostream& out, const nlohmann::json& response) {
  for (auto it = response.begin(); it != response.end(); ++it) {
    if (it->is_array() && (it->empty() || (*it)[0].is_object())) {
      if (it->empty()) {
        out << "(no " << it.key() << ")\n";
      } else {
        PrintRows(out, *it);
      }
      return;
    }
  }
  for (auto it = response.begin(); it != response.end(); ++it) {
    out << it.key() << ": " << Cell(*it) << "\n";
  }
}

void PrintColumns(std::ostream& out, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& h : headers) width.push_back(h.size());
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < cells.size() && !cells[i].empty() ? cells[i] : "-";
      text += cell;
      if (i + 1 < width.size())
        text += std::string(width[i] - std::min(width[i], cell.size()) + 2, ' ');
    }
    out << text << "\n";
  };
  line(headers);
  for (const auto& r : rows) line(r);
}

int PrintResponse(const nlohmann::json& response, const std::string& output) {
  if (output == "json") {
    std::cout << response.dump(2) << "\n";
  } else {
    PrintTable(std::cout, response);
  }
  return 0;
}

int ReportError(const Status& st) {
  std::cerr << "error: " << st.code() << ": " << st.message() << "\n";
  return 1;
}

}  // namespace cvm::cli
