"""Does the generator draw what the data holds, all of it? Measures of generated images
against real ones, read by the oracle (``udgan_tf.evaluation.oracle``).

* ``precision_recall``: improved precision and recall (Kynkäänniemi et al. 2019) in the
  oracle's feature space. Precision: the share of generated images that fall inside the
  real images' manifold (the union of balls around each real feature reaching its k-th
  nearest real neighbour); recall: the share of real images inside the generated
  manifold. A generator that draws one shape well has high precision and low recall,
  which a Fréchet distance alone hides.
* ``shape_shares`` and ``oracle_confidence``: what share of generated images the oracle
  reads as each shape, and how sure it is (mean top softmax probability) against real
  images. A classifier must call every blob *something*, so the shares alone prove
  nothing. What a blob generator cannot pass is recall, overall and per shape
  (``per_shape_precision_recall``: each shape's generated images, as the oracle reads
  them, against the real images of that shape): blobs cover little of the real shapes.

Measured with the project's oracle at 64x64 (``benchmarks/fidelity.py --calibrate``):
5,000 real images against 5,000 others score precision and recall 0.96; a generator of
real squares only, recall 0.35; discs of each sprite's area and centre of mass (read as
65 % squares, 35 % hearts), recall 0.09, but precision 0.93 and, per shape, precision 0.98
for the discs read as hearts: in the oracle's features a disc lies among real hearts, so
precision does not expose blobs; recall does. Rendering the real sprite of the
oracle-read factors and comparing pixels does not separate blobs either (a disc has IoU
0.85 with the heart it stands for, a real sprite read one orientation class off 0.88-0.91).
"""

import numpy as np

def kth_neighbour_distances(features, k=3, batch_size=1000):
    """Distance of each row of ``features [N, D]`` to its k-th nearest other row. Returns ``[N]``."""
    features = np.asarray(features, np.float64)
    squared = (features ** 2).sum(1)
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        block = features[start:start + batch_size]
        distances = squared[start:start + batch_size, None] - 2 * block @ features.T + squared[None]
        # Column 0 of the sorted row is the row itself (distance 0).
        radii[start:start + len(block)] = np.sqrt(np.maximum(np.partition(distances, k, axis=1)[:, k], 0))
    return radii


def _inside_manifold(queries, references, radii, batch_size=1000):
    """For each query row: is it within ``radii[j]`` of some reference row j? Returns bool ``[Q]``."""
    queries, references = np.asarray(queries, np.float64), np.asarray(references, np.float64)
    squared = (references ** 2).sum(1)
    inside = np.empty(len(queries), bool)
    for start in range(0, len(queries), batch_size):
        block = queries[start:start + batch_size]
        distances = (block ** 2).sum(1)[:, None] - 2 * block @ references.T + squared[None]
        inside[start:start + len(block)] = (distances <= radii[None] ** 2).any(axis=1)
    return inside


def precision_recall(real_features, generated_features, k=3):
    """Improved precision and recall of ``generated_features [M, D]`` against ``real_features [N, D]``.

    Returns:
        dict with ``precision`` and ``recall`` in [0, 1] and ``k``.
    """
    real_radii = kth_neighbour_distances(real_features, k)
    generated_radii = kth_neighbour_distances(generated_features, k)
    return {"precision": float(_inside_manifold(generated_features, real_features, real_radii).mean()),
            "recall": float(_inside_manifold(real_features, generated_features, generated_radii).mean()), "k": k}


def shape_shares(shapes, shape_names):
    """Share of each shape among oracle readings ``shapes [N]`` (ints). Returns {name: share}."""
    counts = np.bincount(np.asarray(shapes), minlength=len(shape_names))
    return {name: float(count / max(len(shapes), 1)) for name, count in zip(shape_names, counts)}


def oracle_confidence(oracle, images, factor="shape", batch_size=256):
    """Mean top softmax probability of the oracle's ``factor`` head on ``images [N, R, R, C]``."""
    column = oracle.factor_names.index(factor)
    tops = []
    for start in range(0, len(images), batch_size):
        logits = np.asarray(oracle(images[start:start + batch_size])[column], np.float64)
        probabilities = np.exp(logits - logits.max(1, keepdims=True))
        tops.append((probabilities / probabilities.sum(1, keepdims=True)).max(1))
    return float(np.concatenate(tops).mean())


def per_shape_precision_recall(real_features, real_shapes, generated_features, generated_shapes, shape_names,
                               k=3):
    """``precision_recall`` of each shape's generated images against the real images of that shape.

    Args:
        real_features, generated_features: ``[N, D]``, ``[M, D]``.
        real_shapes, generated_shapes: int ``[N]``, ``[M]``: the shape of each real image (its
            label) and of each generated image (as the oracle reads it).
        shape_names: names of the shape indices.

    Returns:
        {shape: {"precision", "recall", "k"}}; a shape with fewer than ``k + 1`` generated
        images gets precision and recall 0 (it is not drawn).
    """
    result = {}
    for index, name in enumerate(shape_names):
        real, generated = real_features[real_shapes == index], generated_features[generated_shapes == index]
        if len(generated) <= k or len(real) <= k:
            result[name] = {"precision": 0.0, "recall": 0.0, "k": k}
        else:
            result[name] = precision_recall(real, generated, k)
    return result


def shape_fidelity(oracle, data, generated, real_factors, real):
    """Precision and recall (overall and per shape), shape shares and oracle confidence.

    Args:
        oracle: a trained ``FactorOracle`` of ``data``.
        data: a ground-truth data set with a ``shape`` factor and ``shape_names`` (dSprites).
        generated: generated images ``[M, R, R, C]``.
        real_factors, real: real factors ``[N, F]`` and images ``[N, R, R, C]``.

    Returns:
        dict with ``precision_recall`` (overall, oracle features, k = 3),
        ``per_shape_precision_recall``, ``shape_shares`` {generated, real} (oracle readings),
        ``confidence`` {generated, real} (mean top probability of the shape head).
    """
    column = data.factor_names.index("shape")
    generated_features, real_features = oracle.features(generated), oracle.features(real)
    generated_shapes = oracle.predict_factors(generated)[:, column]
    real_read = oracle.predict_factors(real)[:, column]
    return {
        "precision_recall": precision_recall(real_features, generated_features),
        "per_shape_precision_recall": per_shape_precision_recall(
            real_features, real_factors[:, column], generated_features, generated_shapes, data.shape_names),
        "shape_shares": {"generated": shape_shares(generated_shapes, data.shape_names),
                         "real": shape_shares(real_read, data.shape_names)},
        "confidence": {"factor": "shape", "generated": oracle_confidence(oracle, generated),
                       "real": oracle_confidence(oracle, real)},
    }
