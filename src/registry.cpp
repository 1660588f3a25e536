// The registry of user layers and optimizers: one table per kind, keyed by type name, for float
// and double together.
#include "cnnkit/registry.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "cnnkit/model/model.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

namespace {

struct Tables {
  std::mutex mutex;
  std::map<std::string, std::pair<LayerType<float>, LayerType<double>>> layers;
  std::map<std::string, std::pair<OptimizerType<float>, OptimizerType<double>>> optimizers;
};

Tables& tables() {
  static Tables instance;
  return instance;
}

// Whether `type` is one of the comma-separated names of `list`.
bool listed(const std::string& list, const std::string& type) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(", ", start), list.size());
    if (list.compare(start, end - start, type) == 0) return true;
    start = end + 2;
  }
  return false;
}

void require_new_name(const std::string& what, const std::string& type, bool builtin,
                      bool registered) {
  if (type.empty()) throw std::invalid_argument(what + ": expected a type name, got \"\"");
  if (builtin) {
    throw std::invalid_argument(what + ": expected a name other than the built-in types', got '" +
                                type + "'");
  }
  if (registered) {
    throw std::invalid_argument(what + ": expected a name not registered yet, got '" + type +
                                "' a second time");
  }
}

}  // namespace

namespace detail {

void add_layer_type(const std::string& type, LayerType<float> f, LayerType<double> d) {
  if (!f.make || !d.make) throw std::invalid_argument("register_layer: expected a maker, got none");
  Tables& t = tables();
  const std::lock_guard lock(t.mutex);
  require_new_name("register_layer", type, listed(known_layer_types(), type),
                   t.layers.contains(type));
  t.layers.emplace(type, std::pair{std::move(f), std::move(d)});
}

void add_optimizer_type(const std::string& type, OptimizerType<float> f, OptimizerType<double> d) {
  if (!f.make || !d.make) {
    throw std::invalid_argument("register_optimizer: expected a maker, got none");
  }
  Tables& t = tables();
  const std::lock_guard lock(t.mutex);
  require_new_name("register_optimizer", type, listed(builtin_optimizer_types(), type),
                   t.optimizers.contains(type));
  t.optimizers.emplace(type, std::pair{std::move(f), std::move(d)});
}

std::string registry_hint(const char* kind, const char* function) {
  const std::vector<std::string> names =
      std::string(kind) == "layer" ? registered_layer_types() : registered_optimizer_types();
  std::string registered;
  for (const std::string& name : names) registered += (registered.empty() ? "" : ", ") + name;
  return "; registered: " + (registered.empty() ? std::string("none") : registered) + " (a user " +
         kind + " is registered with " + function + ", cnnkit/registry.hpp)";
}

}  // namespace detail

namespace {

// The entry of `type` for T in one of the tables, or null.
template <typename Entry, typename Table>
const Entry* find_in(const Table& table, const std::string& type) {
  const std::lock_guard lock(tables().mutex);
  const auto found = table.find(type);
  return found == table.end() ? nullptr : &std::get<Entry>(found->second);
}

}  // namespace

template <typename T>
const LayerType<T>* find_layer_type(const std::string& type) {
  return find_in<LayerType<T>>(tables().layers, type);
}

template <typename T>
const OptimizerType<T>* find_optimizer_type(const std::string& type) {
  return find_in<OptimizerType<T>>(tables().optimizers, type);
}

bool is_registered_layer(const std::string& type) {
  return find_layer_type<float>(type) != nullptr;
}

bool is_registered_optimizer(const std::string& type) {
  return find_optimizer_type<float>(type) != nullptr;
}

namespace {

// The names of one of the tables, sorted (a std::map's order).
template <typename Table>
std::vector<std::string> names_in(const Table& table) {
  const std::lock_guard lock(tables().mutex);
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.first);
  return names;
}

}  // namespace

std::vector<std::string> registered_layer_types() {
  return names_in(tables().layers);
}

std::vector<std::string> registered_optimizer_types() {
  return names_in(tables().optimizers);
}

template const LayerType<float>* find_layer_type<float>(const std::string&);
template const LayerType<double>* find_layer_type<double>(const std::string&);
template const OptimizerType<float>* find_optimizer_type<float>(const std::string&);
template const OptimizerType<double>* find_optimizer_type<double>(const std::string&);

}  // namespace cnnkit
