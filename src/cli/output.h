// How `cvm` shows a Response: a table of the first list it holds (the XxxSet), else key/value
// lines; --output json prints the Response as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::cli {

void PrintTable(std::ostream& out, const nlohmann::json& response);

// Columns of text, each as wide as its widest cell; the header line is printed even without rows
// so an empty listing still says what it would show.
void PrintColumns(std::ostream& out, const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows);

// A Response as --output asks: JSON, or PrintTable. Returns exit code 0.
int PrintResponse(const nlohmann::json& response, const std::string& output);

// "error: <Code>: <Message>" on stderr; returns the exit code for it (1).
int ReportError(const Status& st);

}  // namespace cvm::cli
