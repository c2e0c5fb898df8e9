#pragma once
// Geometry for the synthetic scenes: a small vector type and exact ray
// intersection with each object shape in its local frame (centred at the
// origin, y up), so normals and depth come out analytically, not from meshes.

#include <cmath>

namespace nddr::synth {

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

inline Vec3 operator+(const Vec3& a, const Vec3& b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(const Vec3& a, const Vec3& b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator-(const Vec3& a) { return {-a.x, -a.y, -a.z}; }
inline Vec3 operator*(const Vec3& a, double s) { return {a.x * s, a.y * s, a.z * s}; }
inline Vec3 operator*(const Vec3& a, const Vec3& b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
inline double dot(const Vec3& a, const Vec3& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline Vec3 normalized(const Vec3& a) { return a * (1.0 / std::sqrt(dot(a, a))); }

/// A rotation as its three columns: the local x, y, z axes in world space.
struct Rotation {
  Vec3 x{1, 0, 0}, y{0, 1, 0}, z{0, 0, 1};
  Vec3 to_world(const Vec3& v) const { return x * v.x + y * v.y + z * v.z; }
  Vec3 to_local(const Vec3& v) const { return {dot(x, v), dot(y, v), dot(z, v)}; }
};

/// Tilt by `tilt` about the local x axis, then turn by `yaw` about world y.
Rotation yaw_tilt(double yaw, double tilt);

enum class ShapeKind { kSphere, kBox, kCylinder, kCone, kTorus, kPyramid };

/// Size parameters per kind: sphere (radius), box (half extents a, b, c along
/// x, y, z), cylinder (radius, half height), cone (base radius, half height;
/// apex up), torus (major radius, minor radius; axis y), pyramid (half base
/// side, half height; square base down).
struct Shape {
  ShapeKind kind = ShapeKind::kSphere;
  double a = 0, b = 0, c = 0;
};

struct Hit {
  double t = 0;
  Vec3 normal;  ///< unit, pointing out of the shape, local frame
};

/// The nearest hit with t_min < t < t_max of the ray origin + t * direction
/// (direction of unit length, both in the shape's local frame). The renderer
/// never starts a ray inside a shape, so what such a ray reports is left open.
bool intersect(const Shape& shape, const Vec3& origin, const Vec3& direction, double t_min,
               double t_max, Hit* hit);

/// Radius of a sphere about the local origin that encloses the shape.
double bounding_radius(const Shape& shape);

}  // namespace nddr::synth
