#include "nddr/data/synthetic_scenes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "nddr/util/error.h"
#include "nddr/util/random.h"
#include "nddr/util/strings.h"
#include "synthetic_shapes.h"

namespace nddr {

const std::vector<std::string> kSyntheticShapeNames = {"sphere", "box",   "cylinder",
                                                       "cone",   "torus", "pyramid"};

namespace {

using synth::Hit;
using synth::Rotation;
using synth::Shape;
using synth::ShapeKind;
using synth::Vec3;

constexpr int64_t kFloorLabel = 0;
constexpr int64_t kWallLabel = 1;
constexpr int64_t kFirstObjectLabel = 2;
constexpr int64_t kMaxObjects = 32;
// Placement tries per object before the scene makes do with fewer objects.
constexpr int kPlacementTries = 40;
// Shadow rays start this far off the surface so it does not shadow itself.
constexpr double kShadowOffset = 1e-4;

enum class Pattern { kPlain, kStripes, kChecker };

// A surface's albedo: plain, or a solid (3D) stripe or checker texture in the
// surface's own frame, so texture follows the object's geometry.
struct Material {
  Vec3 color1, color2;
  Pattern pattern = Pattern::kPlain;
  double period = 1;
  Vec3 axis;    // stripes run across this direction
  Vec3 offset;  // keeps planes like the floor y = 0 off a texture seam

  Vec3 albedo(const Vec3& p) const {
    const Vec3 q = p + offset;
    switch (pattern) {
      case Pattern::kPlain:
        return color1;
      case Pattern::kStripes:
        return (static_cast<int64_t>(std::floor(dot(q, axis) / period)) & 1) ? color2 : color1;
      case Pattern::kChecker: {
        const auto cell = static_cast<int64_t>(std::floor(q.x / period) + std::floor(q.y / period) +
                                               std::floor(q.z / period));
        return (cell & 1) ? color2 : color1;
      }
    }
    return color1;
  }
};

struct Object {
  Shape shape;
  Rotation rotation;
  Vec3 center;
  double radius = 0;  // bounding sphere, for cheap rejection
  Material material;
  int64_t label = 0;
};

struct Camera {
  Vec3 position, right, up, back;
  double focal = 1;
};

struct Scene {
  Camera camera;
  Vec3 room_min, room_max;
  Material floor, wall;
  Vec3 light;  // unit, towards the light
  double ambient = 0.3;
  std::vector<Object> objects;
};

Vec3 hsv_to_rgb(double hue, double saturation, double value) {
  const double h = hue * 6.0;
  const double chroma = value * saturation;
  const double x = chroma * (1 - std::abs(std::fmod(h, 2.0) - 1));
  const double m = value - chroma;
  Vec3 rgb;
  switch (static_cast<int>(h) % 6) {
    case 0:
      rgb = {chroma, x, 0};
      break;
    case 1:
      rgb = {x, chroma, 0};
      break;
    case 2:
      rgb = {0, chroma, x};
      break;
    case 3:
      rgb = {0, x, chroma};
      break;
    case 4:
      rgb = {x, 0, chroma};
      break;
    default:
      rgb = {chroma, 0, x};
      break;
  }
  return rgb + Vec3{m, m, m};
}

// Every surface, floor, wall or object, draws its colours from the same wide
// distribution, so a pixel's colour says next to nothing about its label.
Vec3 random_color(SampleRng& rng) {
  return hsv_to_rgb(rng.uniform(), rng.uniform(0.1, 0.9), rng.uniform(0.35, 1.0));
}

Vec3 random_direction(SampleRng& rng) {
  const double z = rng.uniform(-1, 1), angle = rng.uniform(0, 2 * M_PI);
  const double r = std::sqrt(1 - z * z);
  return {r * std::cos(angle), r * std::sin(angle), z};
}

Material random_material(SampleRng& rng, double min_period, double max_period) {
  Material m;
  m.color1 = random_color(rng);
  m.color2 = random_color(rng);
  m.pattern = static_cast<Pattern>(rng.integer(0, 2));
  m.period = rng.uniform(min_period, max_period);
  m.axis = random_direction(rng);
  m.offset =
      Vec3{rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)} * m.period;
  return m;
}

// A random shape of the class, its orientation, and the height of its centre
// when it rests on the floor.
Object random_object(SampleRng& rng, int64_t object_class) {
  Object object;
  const double size = rng.uniform(0.4, 0.8);
  double tilt = 0, rest = 0;
  Shape& s = object.shape;
  s.kind = static_cast<ShapeKind>(object_class);
  switch (s.kind) {
    case ShapeKind::kSphere:
      s.a = size;
      rest = s.a;
      break;
    case ShapeKind::kBox:
      s = {s.kind, size * rng.uniform(0.6, 1.1), size * rng.uniform(0.5, 1.2),
           size * rng.uniform(0.6, 1.1)};
      rest = s.b;
      break;
    case ShapeKind::kCylinder:
      s = {s.kind, size * rng.uniform(0.5, 0.9), size * rng.uniform(0.6, 1.4)};
      // Standing or lying on its side: both rest stably on the floor.
      tilt = rng.uniform() < 0.5 ? 0.0 : M_PI / 2;
      rest = tilt == 0 ? s.b : s.a;
      break;
    case ShapeKind::kCone:
      s = {s.kind, size * rng.uniform(0.6, 1.0), size * rng.uniform(0.8, 1.5)};
      rest = s.b;
      break;
    case ShapeKind::kTorus:
      s.a = size * rng.uniform(0.7, 1.0);
      s.b = s.a * rng.uniform(0.25, 0.45);
      // From lying flat (the hole seen from above) to standing on its rim.
      tilt = rng.uniform(0, M_PI / 2);
      rest = s.a * std::sin(tilt) + s.b;
      break;
    case ShapeKind::kPyramid:
      s = {s.kind, size * rng.uniform(0.7, 1.0), size * rng.uniform(0.7, 1.3)};
      rest = s.b;
      break;
  }
  object.rotation = synth::yaw_tilt(rng.uniform(0, 2 * M_PI), tilt);
  object.center.y = rest;
  object.radius = synth::bounding_radius(s);
  object.material = random_material(rng, 0.08, 0.3);
  object.label = kFirstObjectLabel + object_class;
  return object;
}

Scene random_scene(const SyntheticScenesOptions& options, SampleRng& rng) {
  Scene scene;
  const double half_width = rng.uniform(2.5, 4.5);
  scene.room_min = {-half_width, 0, -rng.uniform(6, 10)};
  // The front wall sits behind the camera, closing the room so that every
  // ray hits a surface and every pixel has a depth.
  scene.room_max = {half_width, rng.uniform(2.6, 3.4), 0.75};
  scene.floor = random_material(rng, 0.3, 1.0);
  scene.wall = random_material(rng, 0.3, 1.0);

  Camera& cam = scene.camera;
  const double yaw = rng.uniform(-0.35, 0.35), pitch = rng.uniform(0.17, 0.45);
  cam.position = {rng.uniform(-0.3, 0.3) * half_width, rng.uniform(1.2, 1.8), 0};
  const Vec3 ahead{-std::sin(yaw), 0, -std::cos(yaw)};  // horizontal viewing direction
  const Vec3 forward = ahead * std::cos(pitch) + Vec3{0, -std::sin(pitch), 0};
  cam.right = {std::cos(yaw), 0, -std::sin(yaw)};
  cam.up = cross(cam.right, forward);
  cam.back = -forward;
  const double tan_half = std::tan(options.fov_degrees() * M_PI / 360);
  cam.focal = 0.5 * static_cast<double>(options.height()) / tan_half;

  const double elevation = rng.uniform(0.45, 1.3), azimuth = rng.uniform(0, 2 * M_PI);
  scene.light = {std::cos(elevation) * std::cos(azimuth), std::sin(elevation),
                 std::cos(elevation) * std::sin(azimuth)};
  scene.ambient = rng.uniform(0.2, 0.45);

  // Objects stand on the floor inside the view frustum's footprint, without
  // touching each other; nearer ones occlude farther ones.
  const double tan_half_across =
      tan_half * static_cast<double>(options.width()) / static_cast<double>(options.height());
  const int64_t count = rng.integer(options.min_objects(), options.max_objects());
  for (int64_t n = 0; n < count; ++n) {
    Object object = random_object(rng, rng.integer(0, options.classes() - 1));
    for (int attempt = 0; attempt < kPlacementTries; ++attempt) {
      const double distance = rng.uniform(1.8, 6.0);
      const double lateral = rng.uniform(-0.85, 0.85) * tan_half_across * distance;
      const Vec3 spot = cam.position + ahead * distance + cam.right * lateral;
      const double r = object.radius;
      bool fits = spot.x - r > scene.room_min.x && spot.x + r < scene.room_max.x &&
                  spot.z - r > scene.room_min.z;
      for (const Object& other : scene.objects) {
        const double dx = spot.x - other.center.x, dz = spot.z - other.center.z;
        fits = fits && std::sqrt(dx * dx + dz * dz) > r + other.radius;
      }
      if (fits) {
        object.center.x = spot.x;
        object.center.z = spot.z;
        scene.objects.push_back(object);
        break;
      }
    }
  }
  return scene;
}

// Nearest hit of an object's bounding sphere is before `t_max`.
bool may_hit(const Object& object, const Vec3& origin, const Vec3& direction, double t_max) {
  const Vec3 offset = origin - object.center;
  const double b = dot(offset, direction);
  const double disc = b * b - dot(offset, offset) + object.radius * object.radius;
  if (disc < 0) return false;
  const double root = std::sqrt(disc);
  return -b + root > 0 && -b - root < t_max;
}

bool in_shadow(const Scene& scene, const Vec3& point) {
  for (const Object& object : scene.objects) {
    if (!may_hit(object, point, scene.light, std::numeric_limits<double>::infinity())) continue;
    const Vec3 origin = object.rotation.to_local(point - object.center);
    Hit hit;
    if (synth::intersect(object.shape, origin, object.rotation.to_local(scene.light), 0,
                         std::numeric_limits<double>::infinity(), &hit)) {
      return true;
    }
  }
  return false;
}

struct Surface {
  double t = 0;
  Vec3 normal;         // world frame
  Vec3 texture_point;  // in the material's frame
  const Material* material = nullptr;
  int64_t label = 0;
};

// The room is a box seen from inside: the ray leaves it through the nearest
// of the three faces it is heading towards.
Surface trace_room(const Scene& scene, const Vec3& o, const Vec3& d) {
  const double along[3] = {d.x, d.y, d.z};
  const double from[3] = {o.x, o.y, o.z};
  const double low[3] = {scene.room_min.x, scene.room_min.y, scene.room_min.z};
  const double high[3] = {scene.room_max.x, scene.room_max.y, scene.room_max.z};
  Surface surface;
  surface.t = std::numeric_limits<double>::infinity();
  int exit_axis = 0;
  for (int axis = 0; axis < 3; ++axis) {
    if (along[axis] == 0) continue;
    const double t = ((along[axis] > 0 ? high[axis] : low[axis]) - from[axis]) / along[axis];
    if (t < surface.t) {
      surface.t = t;
      exit_axis = axis;
    }
  }
  double normal[3] = {0, 0, 0};
  normal[exit_axis] = along[exit_axis] > 0 ? -1 : 1;  // faces into the room
  surface.normal = {normal[0], normal[1], normal[2]};
  surface.texture_point = o + d * surface.t;
  const bool floor = exit_axis == 1 && d.y < 0;
  surface.material = floor ? &scene.floor : &scene.wall;
  surface.label = floor ? kFloorLabel : kWallLabel;
  return surface;
}

Surface trace(const Scene& scene, const Vec3& o, const Vec3& d) {
  Surface surface = trace_room(scene, o, d);
  for (const Object& object : scene.objects) {
    if (!may_hit(object, o, d, surface.t)) continue;
    const Vec3 origin = object.rotation.to_local(o - object.center);
    const Vec3 direction = object.rotation.to_local(d);
    Hit hit;
    if (synth::intersect(object.shape, origin, direction, 0, surface.t, &hit)) {
      surface.t = hit.t;
      surface.normal = object.rotation.to_world(hit.normal);
      surface.texture_point = origin + direction * hit.t;
      surface.material = &object.material;
      surface.label = object.label;
    }
  }
  return surface;
}

std::string option_error(const std::string& key, const std::string& requirement,
                         const std::string& value) {
  return "synthetic scenes: option '" + key + "' must be " + requirement + ", got " + value;
}

}  // namespace

SyntheticScenes::SyntheticScenes(SyntheticScenesOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  auto require = [](bool ok, const std::string& key, const std::string& requirement,
                    const std::string& value) {
    if (!ok) throw Error(option_error(key, requirement, value));
  };
  require(o.height() >= 1, "height", ">= 1", std::to_string(o.height()));
  require(o.width() >= 1, "width", ">= 1", std::to_string(o.width()));
  require(o.count() >= 1, "count", ">= 1", std::to_string(o.count()));
  require(o.min_objects() >= 0 && o.min_objects() <= kMaxObjects, "min_objects",
          "in [0, " + std::to_string(kMaxObjects) + "]", std::to_string(o.min_objects()));
  require(o.max_objects() >= o.min_objects() && o.max_objects() <= kMaxObjects, "max_objects",
          "in [min_objects = " + std::to_string(o.min_objects()) + ", " +
              std::to_string(kMaxObjects) + "]",
          std::to_string(o.max_objects()));
  require(std::isfinite(o.noise()) && o.noise() >= 0, "noise", ">= 0", std::to_string(o.noise()));
  const auto shapes = static_cast<int64_t>(kSyntheticShapeNames.size());
  require(o.classes() >= 1 && o.classes() <= shapes, "classes",
          "in [1, " + std::to_string(shapes) + "] (" + join(kSyntheticShapeNames, ", ") + ")",
          std::to_string(o.classes()));
  require(o.fov_degrees() >= 10 && o.fov_degrees() <= 150, "fov_degrees", "in [10, 150]",
          std::to_string(o.fov_degrees()));
  std::set<std::string> names;
  for (const auto& name : {o.seg_task(), o.normals_task(), o.depth_task()}) {
    require(name.empty() || names.insert(name).second, "seg_task/normals_task/depth_task",
            "distinct", "'" + name + "' twice");
  }
  require(!names.empty(), "seg_task/normals_task/depth_task", "not all empty", "no task");
}

int64_t SyntheticScenes::size() const { return options_.count(); }

std::vector<TaskSpec> SyntheticScenes::tasks() const {
  std::vector<TaskSpec> specs;
  if (!options_.seg_task().empty()) {
    specs.push_back({options_.seg_task(), "segmentation", kFirstObjectLabel + options_.classes()});
  }
  if (!options_.normals_task().empty()) {
    specs.push_back({options_.normals_task(), "normals", 3});
  }
  if (!options_.depth_task().empty()) specs.push_back({options_.depth_task(), "depth", 1});
  return specs;
}

std::vector<std::string> SyntheticScenes::label_names() const {
  std::vector<std::string> names = {"floor", "wall"};
  names.insert(names.end(), kSyntheticShapeNames.begin(),
               kSyntheticShapeNames.begin() + options_.classes());
  return names;
}

std::string SyntheticScenes::describe() const {
  std::ostringstream out;
  out << "synthetic scenes: " << options_.count() << " samples of " << options_.height() << "x"
      << options_.width() << ", seed " << options_.seed() << ", " << options_.min_objects() << "-"
      << options_.max_objects() << " objects of " << options_.classes() << " classes ("
      << join(std::vector<std::string>(kSyntheticShapeNames.begin(),
                                       kSyntheticShapeNames.begin() + options_.classes()),
              ", ")
      << "), noise " << options_.noise();
  return out.str();
}

Sample SyntheticScenes::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "synthetic scenes: index ", index, " out of range [0, ",
              size(), ")");
  SampleRng rng(options_.seed(), static_cast<uint64_t>(index));
  const Scene scene = random_scene(options_, rng);
  const Camera& cam = scene.camera;
  const int64_t height = options_.height(), width = options_.width(), plane = height * width;

  torch::Tensor image = torch::empty({3, height, width}, torch::kFloat32);
  torch::Tensor labels = torch::empty({height, width}, torch::kInt64);
  torch::Tensor normals = torch::empty({3, height, width}, torch::kFloat32);
  torch::Tensor depth = torch::empty({1, height, width}, torch::kFloat32);
  float* rgb = image.data_ptr<float>();
  int64_t* label = labels.data_ptr<int64_t>();
  float* normal = normals.data_ptr<float>();
  float* z = depth.data_ptr<float>();

  const double noise = options_.noise();
  for (int64_t i = 0; i < height; ++i) {
    for (int64_t j = 0; j < width; ++j) {
      const int64_t at = i * width + j;
      const double u =
          (static_cast<double>(j) + 0.5 - 0.5 * static_cast<double>(width)) / cam.focal;
      const double v =
          (0.5 * static_cast<double>(height) - static_cast<double>(i) - 0.5) / cam.focal;
      const Vec3 d = normalized(cam.right * u + cam.up * v - cam.back);
      const Surface s = trace(scene, cam.position, d);
      const Vec3 point = cam.position + d * s.t;

      const double facing = dot(s.normal, scene.light);
      const bool lit = facing > 0 && !in_shadow(scene, point + s.normal * kShadowOffset);
      const double shade = scene.ambient + (1 - scene.ambient) * (lit ? facing : 0);
      const Vec3 color = s.material->albedo(s.texture_point) * shade;
      const double channels[3] = {color.x, color.y, color.z};
      for (int c = 0; c < 3; ++c) {
        const double value = channels[c] + (noise > 0 ? noise * rng.normal() : 0);
        rgb[c * plane + at] = static_cast<float>(std::clamp(value, 0.0, 1.0));
      }
      label[at] = s.label;
      normal[at] = static_cast<float>(dot(s.normal, cam.right));
      normal[plane + at] = static_cast<float>(dot(s.normal, cam.up));
      normal[2 * plane + at] = static_cast<float>(dot(s.normal, cam.back));
      z[at] = static_cast<float>(-s.t * dot(d, cam.back));
    }
  }

  Sample sample;
  sample.image = image;
  if (!options_.seg_task().empty()) sample.targets[options_.seg_task()] = labels;
  if (!options_.normals_task().empty()) sample.targets[options_.normals_task()] = normals;
  if (!options_.depth_task().empty()) sample.targets[options_.depth_task()] = depth;
  return sample;
}

}  // namespace nddr
