#include "synthetic_shapes.h"

#include <algorithm>
#include <limits>

namespace nddr::synth {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Keeps the nearest candidate inside (t_min, t_max).
class Nearest {
 public:
  Nearest(double t_min, double t_max) : t_min_(t_min), t_best_(t_max) {}
  void consider(double t, const Vec3& normal) {
    if (t > t_min_ && t < t_best_) {
      t_best_ = t;
      normal_ = normal;
      found_ = true;
    }
  }
  bool report(Hit* hit) const {
    if (found_) *hit = {t_best_, normalized(normal_)};
    return found_;
  }

 private:
  double t_min_, t_best_;
  Vec3 normal_;
  bool found_ = false;
};

// Roots of a t^2 + 2 b t + c = 0 in increasing order; false when none.
bool solve_quadratic(double a, double b, double c, double* t0, double* t1) {
  if (std::abs(a) < 1e-12) {
    if (std::abs(b) < 1e-12) return false;
    *t0 = *t1 = -c / (2 * b);
    return true;
  }
  const double disc = b * b - a * c;
  if (disc < 0) return false;
  const double root = std::sqrt(disc);
  *t0 = (-b - root) / a;
  *t1 = (-b + root) / a;
  if (*t0 > *t1) std::swap(*t0, *t1);
  return true;
}

struct Plane {
  Vec3 normal;    // unit, outward
  double offset;  // inside: dot(normal, p) <= offset
};

// A convex polyhedron is the intersection of its half-spaces: the ray is
// inside between its last entering plane and its first leaving plane.
template <size_t N>
bool intersect_convex(const Plane (&planes)[N], const Vec3& o, const Vec3& d, double t_min,
                      double t_max, Hit* hit) {
  double t_enter = -kInf, t_exit = kInf;
  Vec3 enter_normal;
  for (const Plane& plane : planes) {
    const double denom = dot(plane.normal, d);
    const double inside = plane.offset - dot(plane.normal, o);
    if (std::abs(denom) < 1e-12) {
      if (inside < 0) return false;
      continue;
    }
    const double t = inside / denom;
    if (denom < 0) {
      if (t > t_enter) {
        t_enter = t;
        enter_normal = plane.normal;
      }
    } else {
      t_exit = std::min(t_exit, t);
    }
  }
  if (t_enter > t_exit || t_enter <= t_min || t_enter >= t_max) return false;
  *hit = {t_enter, enter_normal};
  return true;
}

bool intersect_sphere(double r, const Vec3& o, const Vec3& d, double t_min, double t_max,
                      Hit* hit) {
  double t0, t1;
  if (!solve_quadratic(1.0, dot(o, d), dot(o, o) - r * r, &t0, &t1)) return false;
  Nearest nearest(t_min, t_max);
  nearest.consider(t0, o + d * t0);
  nearest.consider(t1, o + d * t1);
  return nearest.report(hit);
}

bool intersect_box(const Shape& s, const Vec3& o, const Vec3& d, double t_min, double t_max,
                   Hit* hit) {
  const Plane planes[6] = {{{1, 0, 0}, s.a},  {{-1, 0, 0}, s.a}, {{0, 1, 0}, s.b},
                           {{0, -1, 0}, s.b}, {{0, 0, 1}, s.c},  {{0, 0, -1}, s.c}};
  return intersect_convex(planes, o, d, t_min, t_max, hit);
}

bool intersect_pyramid(const Shape& s, const Vec3& o, const Vec3& d, double t_min, double t_max,
                       Hit* hit) {
  // Side x: the face through the apex (0, h, 0) and the base edge x = a,
  // y = -h satisfies 2h x + a y = a h.
  const double a = s.a, h = s.b, length = std::sqrt(4 * h * h + a * a);
  const double side = a * h / length;
  const double across = 2 * h / length, up = a / length;
  const Plane planes[5] = {{{0, -1, 0}, h},
                           {{across, up, 0}, side},
                           {{-across, up, 0}, side},
                           {{0, up, across}, side},
                           {{0, up, -across}, side}};
  return intersect_convex(planes, o, d, t_min, t_max, hit);
}

// Flat disc caps of cylinders and cones at height y, facing `facing`.
void consider_cap(double y, double radius, double facing, const Vec3& o, const Vec3& d,
                  Nearest* nearest) {
  if (std::abs(d.y) < 1e-12) return;
  const double t = (y - o.y) / d.y;
  const double x = o.x + t * d.x, z = o.z + t * d.z;
  if (x * x + z * z <= radius * radius) nearest->consider(t, {0, facing, 0});
}

bool intersect_cylinder(const Shape& s, const Vec3& o, const Vec3& d, double t_min, double t_max,
                        Hit* hit) {
  const double r = s.a, h = s.b;
  Nearest nearest(t_min, t_max);
  double t0, t1;
  if (solve_quadratic(d.x * d.x + d.z * d.z, o.x * d.x + o.z * d.z, o.x * o.x + o.z * o.z - r * r,
                      &t0, &t1)) {
    for (double t : {t0, t1}) {
      const Vec3 p = o + d * t;
      if (std::abs(p.y) <= h) nearest.consider(t, {p.x, 0, p.z});
    }
  }
  consider_cap(h, r, 1, o, d, &nearest);
  consider_cap(-h, r, -1, o, d, &nearest);
  return nearest.report(hit);
}

bool intersect_cone(const Shape& s, const Vec3& o, const Vec3& d, double t_min, double t_max,
                    Hit* hit) {
  // Mantle: x^2 + z^2 = k^2 (h - y)^2 with the apex at y = h; the mirrored
  // nappe above the apex is cut off by the height range.
  const double r = s.a, h = s.b, k2 = (r / (2 * h)) * (r / (2 * h));
  const double above = h - o.y;
  Nearest nearest(t_min, t_max);
  double t0, t1;
  if (solve_quadratic(d.x * d.x + d.z * d.z - k2 * d.y * d.y,
                      o.x * d.x + o.z * d.z + k2 * above * d.y,
                      o.x * o.x + o.z * o.z - k2 * above * above, &t0, &t1)) {
    for (double t : {t0, t1}) {
      const Vec3 p = o + d * t;
      if (std::abs(p.y) > h) continue;
      const Vec3 gradient{p.x, k2 * (h - p.y), p.z};
      // The apex itself has no normal; the axis is the natural choice there.
      nearest.consider(t, dot(gradient, gradient) > 1e-24 ? gradient : Vec3{0, 1, 0});
    }
  }
  consider_cap(-h, r, -1, o, d, &nearest);
  return nearest.report(hit);
}

double torus_distance(double major, double minor, const Vec3& p) {
  const double ring = std::sqrt(p.x * p.x + p.z * p.z) - major;
  return std::sqrt(ring * ring + p.y * p.y) - minor;
}

bool intersect_torus(const Shape& s, const Vec3& o, const Vec3& d, double t_min, double t_max,
                     Hit* hit) {
  // Sphere tracing inside the bounding sphere: the torus distance is exact, so
  // each step is safe and the first zero found is the nearest hit; a quartic
  // solver would be longer and no faster at these image sizes.
  constexpr int kMaxSteps = 128;
  constexpr double kEpsilon = 1e-6;
  const double major = s.a, minor = s.b, bound = major + minor;
  double t0, t1;
  if (!solve_quadratic(1.0, dot(o, d), dot(o, o) - bound * bound, &t0, &t1)) return false;
  double t = std::max(t0, t_min);
  const double end = std::min(t1, t_max);
  for (int step = 0; step < kMaxSteps && t < end; ++step) {
    const Vec3 p = o + d * t;
    const double distance = torus_distance(major, minor, p);
    if (distance < kEpsilon) {
      const double radial = std::sqrt(p.x * p.x + p.z * p.z);
      const Vec3 core =
          radial > 1e-12 ? Vec3{p.x * major / radial, 0, p.z * major / radial} : Vec3{major, 0, 0};
      *hit = {t, normalized(p - core)};
      return true;
    }
    t += distance;
  }
  return false;
}

}  // namespace

Rotation yaw_tilt(double yaw, double tilt) {
  const double cy = std::cos(yaw), sy = std::sin(yaw), ct = std::cos(tilt), st = std::sin(tilt);
  // Columns of R_y(yaw) * R_x(tilt).
  return {{cy, 0, -sy}, {sy * st, ct, cy * st}, {sy * ct, -st, cy * ct}};
}

bool intersect(const Shape& shape, const Vec3& origin, const Vec3& direction, double t_min,
               double t_max, Hit* hit) {
  switch (shape.kind) {
    case ShapeKind::kSphere:
      return intersect_sphere(shape.a, origin, direction, t_min, t_max, hit);
    case ShapeKind::kBox:
      return intersect_box(shape, origin, direction, t_min, t_max, hit);
    case ShapeKind::kCylinder:
      return intersect_cylinder(shape, origin, direction, t_min, t_max, hit);
    case ShapeKind::kCone:
      return intersect_cone(shape, origin, direction, t_min, t_max, hit);
    case ShapeKind::kTorus:
      return intersect_torus(shape, origin, direction, t_min, t_max, hit);
    case ShapeKind::kPyramid:
      return intersect_pyramid(shape, origin, direction, t_min, t_max, hit);
  }
  return false;
}

double bounding_radius(const Shape& shape) {
  switch (shape.kind) {
    case ShapeKind::kSphere:
      return shape.a;
    case ShapeKind::kBox:
      return std::sqrt(shape.a * shape.a + shape.b * shape.b + shape.c * shape.c);
    case ShapeKind::kCylinder:
    case ShapeKind::kCone:
      return std::sqrt(shape.a * shape.a + shape.b * shape.b);
    case ShapeKind::kTorus:
      return shape.a + shape.b;
    case ShapeKind::kPyramid:
      return std::sqrt(2 * shape.a * shape.a + shape.b * shape.b);
  }
  return 0;
}

}  // namespace nddr::synth
