// What a copy shows of the protected photo: the match's region (the photo's four corners in the
// seen image's pixels) clipped to the image. A crop puts corners outside the image, and an outline
// drawn there cannot be seen (a plain centre crop's lies wholly on or past the image's edges); the
// part to outline is the region clipped to the image: where the photo runs past an edge, that edge.
// The case file does the same (server/casefile/outline.py). No DOM here.

// A corner this close to an edge lies on it: the fit that places the corners is not exact to the pixel.
const ON_THE_EDGE = 1;

/**
 * `region` ([[x, y], …]) clipped to an image of `width` × `height`: `{ points, runsPast }`, where
 * `runsPast` says the photo runs past the image's edges (what is outlined is the part shown); null
 * when nothing of it is in the image.
 */
export function visibleOutline(region, width, height) {
  const corners = region.map(([x, y]) => [Number(x), Number(y)]);
  let points = corners;
  for (const [axis, bound, side] of [[0, 0, 1], [0, width, -1], [1, 0, 1], [1, height, -1]]) {
    points = clip(points, axis, bound, side);
  }
  points = points.map(rounded);
  points = points.filter((p, i) => !same(p, points.at(i - 1)));
  if (points.length < 3) return null;
  const runsPast = corners.some(([x, y]) => x < -ON_THE_EDGE || y < -ON_THE_EDGE
    || x > width + ON_THE_EDGE || y > height + ON_THE_EDGE);
  return { points, runsPast };
}

/** The polygon cut by the line where coordinate `axis` is `bound`, keeping the side `side` points
 *  to (one step of Sutherland and Hodgman's clipping). */
function clip(points, axis, bound, side) {
  const inside = (p) => side * (p[axis] - bound) >= 0;
  const crossing = (a, b) => {
    const t = (bound - a[axis]) / (b[axis] - a[axis]);
    const other = a[1 - axis] + t * (b[1 - axis] - a[1 - axis]);
    return axis === 0 ? [bound, other] : [other, bound];
  };
  const out = [];
  points.forEach((current, i) => {
    const previous = points.at(i - 1);
    if (inside(current)) {
      if (!inside(previous)) out.push(crossing(previous, current));
      out.push(current);
    } else if (inside(previous)) {
      out.push(crossing(previous, current));
    }
  });
  return out;
}

function rounded([x, y]) {
  return [Math.round(x * 10) / 10 + 0, Math.round(y * 10) / 10 + 0]; // + 0: never -0
}

function same(a, b) {
  return a[0] === b[0] && a[1] === b[1];
}
