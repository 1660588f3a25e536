#include "io/json_structure.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "cnnkit/limits.hpp"

namespace cnnkit::detail {
namespace {

using Json = nlohmann::json;

// nlohmann's SAX interface: every value is accepted and dropped; only the nesting and the keys
// are kept, one set of keys per open object (an array has an empty frame of its own).
class StructureChecker {
 public:
  StructureChecker(std::string_view component, const JsonStructureLimits& limits)
      : component_(component), limits_(limits) {}

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(Json::number_integer_t) { return true; }
  bool number_unsigned(Json::number_unsigned_t) { return true; }
  bool number_float(Json::number_float_t, const Json::string_t&) { return true; }
  bool string(Json::string_t&) { return true; }
  bool binary(Json::binary_t&) { return true; }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& key) {
    Frame& frame = frames_.back();
    if (frames_.size() == 1 && frame.keys.size() == limits_.top_level_keys) {
      fail("at most " + std::to_string(limits_.top_level_keys) + " " +
               std::string(limits_.top_level_count_what) +
               (limits_.top_level_variable.empty() ? std::string()
                                                   : limit_hint(limits_.top_level_variable)),
           "more");
    }
    if (!frame.keys.insert(key).second) {
      if (frames_.size() == 1 && !limits_.top_level_key_name.empty()) {
        fail("distinct " + std::string(limits_.top_level_key_name),
             "'" + shortened(key) + "' twice");
      }
      fail("distinct keys in each object", "the key '" + shortened(key) + "' twice" + path());
    }
    frame.last_key = key;
    return true;
  }

  // Syntax errors are reported by the parse that builds the document.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  struct Frame {
    bool is_object = false;
    std::set<std::string> keys;
    std::string last_key;  // where the frame's current value sits, for the path in messages
  };

  bool open(bool is_object) {
    if (frames_.size() == limits_.depth) {
      fail("arrays and objects nested at most " + std::to_string(limits_.depth) + " deep" +
               limit_hint("CNNKIT_MAX_JSON_DEPTH"),
           "deeper nesting");
    }
    frames_.push_back({is_object, {}, {}});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  // " in \"layers\"" or " in \"__metadata__\"": the keys leading to the innermost object.
  std::string path() const {
    std::string text;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      if (!frames_[i].is_object) continue;
      if (!text.empty()) text += '.';
      text += shortened(frames_[i].last_key);
    }
    return text.empty() ? std::string() : " in '" + text + "'";
  }

  static std::string shortened(const std::string& key) {
    return key.size() > 60 ? key.substr(0, 57) + "..." : key;
  }

  [[noreturn]] void fail(const std::string& expected, const std::string& got) const {
    detail::fail(component_, expected, got);
  }

  std::string_view component_;
  const JsonStructureLimits& limits_;
  std::vector<Frame> frames_;
};

}  // namespace

void check_json_structure(std::string_view text, std::string_view component,
                          const JsonStructureLimits& limits) {
  StructureChecker checker(component, limits);
  Json::sax_parse(text.begin(), text.end(), &checker);
}

}  // namespace cnnkit::detail
