#include "catimage/diffusion/schedulers/sampler_names.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sigma_schedules.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

// How names are compared: lower case, without spaces, '_', '-' and ','.
std::string key(std::string_view s) {
  std::string k;
  for (char ch : s)
    if (!std::isspace(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != ',')
      k += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return k;
}

std::vector<std::string> sampler_keys(const SchedulerEntry& e) {
  std::vector<std::string> keys = {key(e.name), key(e.class_name)};
  if (!e.label.empty()) keys.push_back(key(e.label));
  for (const auto& a : e.aliases) keys.push_back(key(a));
  return keys;
}

std::vector<std::string> schedule_keys(const ScheduleEntry& s) {
  std::vector<std::string> keys = {key(s.name), key(s.label)};
  for (const auto& a : s.aliases) keys.push_back(key(a));
  return keys;
}

const SchedulerEntry* sampler_by_key(const std::string& k) {
  for (const auto& e : scheduler_registry()) {
    const auto keys = sampler_keys(e);
    if (!k.empty() && std::find(keys.begin(), keys.end(), k) != keys.end()) return &e;
  }
  return nullptr;
}

const ScheduleEntry* schedule_by_key(const std::string& k) {
  for (const auto& s : schedule_registry()) {
    const auto keys = schedule_keys(s);
    if (!k.empty() && std::find(keys.begin(), keys.end(), k) != keys.end()) return &s;
  }
  return nullptr;
}

// "Karras (karras)", or "SGM Uniform (sgm_uniform)"; the label alone when the name is the label.
template <class Entry>
std::string label_and_name(const Entry& e) {
  return key(e.label) == key(e.name) ? e.label : e.label + " (" + e.name + ")";
}

// The A1111 names of the runnable samplers that take schedule `name`.
std::vector<std::string> samplers_taking(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : scheduler_registry())
    if (e.make && std::find(e.schedules.begin(), e.schedules.end(), name) != e.schedules.end()) out.push_back(e.label);
  return out;
}

}  // namespace

std::string SamplerChoice::canonical() const {
  if (!scheduler) return "";
  return schedule ? scheduler->name + " " + schedule->name : scheduler->name;
}

SamplerChoice parse_sampler(const std::string& text) {
  std::string k = key(text);
  // as A1111's infotext writes them: "Sampler: Euler, Schedule type: Karras"
  static const std::string kSampler = "sampler:", kScheduleType = "scheduletype:";
  if (k.rfind(kSampler, 0) == 0) k.erase(0, kSampler.size());
  SamplerChoice c;
  if (const auto at = k.find(kScheduleType); at != std::string::npos) {
    c.scheduler = sampler_by_key(k.substr(0, at));
    c.schedule = schedule_by_key(k.substr(at + kScheduleType.size()));
    if (!c.schedule) c.scheduler = nullptr;
  } else if (!(c.scheduler = sampler_by_key(k))) {
    // a sampler name followed by a schedule's: "DPM++ 2M Karras", "dpmpp_2m karras"
    for (const auto& s : schedule_registry()) {
      for (const auto& sk : schedule_keys(s)) {
        if (k.size() <= sk.size() || k.compare(k.size() - sk.size(), sk.size(), sk) != 0) continue;
        if (const auto* e = sampler_by_key(k.substr(0, k.size() - sk.size()))) c.scheduler = e, c.schedule = &s;
      }
    }
  }
  if (!c.scheduler) fail("sampler \"{}\" is unknown; accepted: {}", text, sampler_names_help());
  const auto& takes = c.scheduler->schedules;
  if (c.schedule && std::find(takes.begin(), takes.end(), c.schedule->name) == takes.end()) {
    std::vector<std::string> names;
    for (const auto& s : schedule_registry())
      if (std::find(takes.begin(), takes.end(), s.name) != takes.end()) names.push_back(label_and_name(s));
    const std::string who = c.scheduler->label.empty() ? c.scheduler->name : c.scheduler->label;
    if (names.empty())
      fail("sampler \"{}\": {} takes no schedule type (write \"{}\"); {} is for {}", text, who, who, c.schedule->label,
           join(samplers_taking(c.schedule->name), ", "));
    fail("sampler \"{}\": {} takes the schedule types {}, not {} ({} has no such option)", text, who, join(names, ", "),
         c.schedule->label, c.scheduler->class_name);
  }
  return c;
}

std::string sampler_names_help() {
  std::vector<std::string> samplers, schedules;
  for (const auto& e : scheduler_registry())
    if (e.make) samplers.push_back(label_and_name(e));
  for (const auto& s : schedule_registry()) schedules.push_back(label_and_name(s));
  return join(samplers, ", ") +
         " (or diffusers' class name), optionally followed by a schedule type: " + join(schedules, ", ");
}

}  // namespace catimage
