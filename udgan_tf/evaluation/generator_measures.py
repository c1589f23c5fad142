"""Generator-side measures: does turning a knob change one factor of the *image*?

An oracle (``udgan_tf.evaluation.oracle``) trained on real images reads the factors of
generated images. From ``N`` random knob vectors z and the oracle's reading y of
G(z):

* Fréchet distance between generated and real images in the oracle's feature
  space (image quality in a space that knows the data set's factors);
* precision and recall in that space and the oracle's confidence in the first factor it
  reads (the shape on dSprites, the digit on MNIST) against its confidence on real images;
  on dSprites also the shape shares and precision and recall per shape
  (``udgan_tf.evaluation.fidelity``);
* the knob x factor matrix: mutual information between each knob dimension
  (discretised into 20 bins) and each predicted factor, divided by the factor's
  entropy (1 = the knob determines the factor);
* knob MIG: per factor, the gap between the two most informative knob
  dimensions in that matrix, averaged over the factors the generator varies;
* knob DCI: disentanglement and completeness of gradient-boosted-tree
  importances predicting y from z (as ``udgan_tf.evaluation.metrics.dci``), over the factors
  the generator varies.
"""

import numpy as np
import scipy.linalg

from udgan_tf.evaluation.fidelity import oracle_confidence, precision_recall, shape_fidelity
from udgan_tf.evaluation.metrics import dci as dci_lib
from udgan_tf.evaluation.metrics import utils as metric_utils
from udgan_tf.knobs import VALUE_RANGE


def frechet_distance(features_a, features_b, epsilon=1e-6):
    """Fréchet distance between Gaussians fitted to ``[N, D]`` and ``[M, D]`` features.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, as in FID. ``epsilon``
    is added to both covariances' diagonals (as FID implementations do when a
    covariance is singular, e.g. from ReLU units that never fire).
    """
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    ridge = epsilon * np.eye(features_a.shape[1])
    cov_a = np.cov(features_a, rowvar=False) + ridge
    cov_b = np.cov(features_b, rowvar=False) + ridge
    root, _ = scipy.linalg.sqrtm(cov_a @ cov_b, disp=False)
    root = root.real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def knob_factor_matrix(knobs, factors, num_bins=20):
    """Mutual information of each knob dimension with each factor, over the factor's entropy.

    Args:
        knobs: float ``[N, Z]``.
        factors: int ``[N, F]``.

    Returns:
        float64 ``[Z, F]``; a column is 0 when the factor never varies.
    """
    codes = metric_utils.histogram_discretize(np.asarray(knobs).T, num_bins)
    information = metric_utils.discrete_mutual_info(codes, np.asarray(factors).T)   # [Z, F]
    entropy = metric_utils.discrete_entropy(np.asarray(factors).T)                    # [F]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(entropy > 0, information / entropy, 0.0)


def knob_mig(matrix, factor_varies):
    """Mean over the varying factors of the gap between the two largest entries of each column."""
    columns = np.sort(matrix[:, factor_varies], axis=0)[::-1]
    if columns.shape[1] == 0:
        return 0.0
    second = columns[1] if len(columns) > 1 else np.zeros(columns.shape[1])
    return float(np.mean(columns[0] - second))


def generate(model, knobs, batch_size=256):
    return np.concatenate([np.asarray(model(knobs[i:i + batch_size])) for i in range(0, len(knobs), batch_size)])


def generator_side_measures(model, data, oracle, num=5000, seed=0):
    """All measures above for a trained ``UDGAN`` on a ``GroundTruthData``.

    Returns:
        dict with ``frechet_distance``, ``knob_mig``, ``knob_dci`` (dict),
        ``knob_factor_matrix`` (list of lists ``[Z][F]``), ``knob_names`` (one per
        knob dimension), ``factor_names``, ``predicted_factor_entropy`` (per factor).
    """
    random_state = np.random.RandomState(seed)
    knobs = random_state.uniform(*VALUE_RANGE, (num, model.layout.latent_dim)).astype(np.float32)
    images = generate(model, knobs)
    predicted = oracle.predict_factors(images)
    real_factors, real_images = data.sample(num, random_state)
    generated_features, real_features = oracle.features(images), oracle.features(real_images)
    distance = frechet_distance(generated_features, real_features)
    matrix = knob_factor_matrix(knobs, predicted)
    entropy = metric_utils.discrete_entropy(predicted.T)
    varies = entropy > 0
    half = num // 2
    dci = {"disentanglement": 0.0, "completeness": 0.0, "informativeness_test": 0.0}
    # A factor the generator never varies (in the half DCI's classifiers are fitted on) has nothing to predict.
    fitted = varies & (metric_utils.discrete_entropy(predicted[:half].T) > 0)
    if fitted.any():
        importance, _, test_accuracy = dci_lib.compute_importance_gbt(
            knobs[:half].T, predicted[:half, fitted].T, knobs[half:].T, predicted[half:, fitted].T, random_state)
        dci = {"disentanglement": dci_lib.disentanglement(importance),
               "completeness": dci_lib.completeness(importance), "informativeness_test": test_accuracy}
    if "shape" in data.factor_names and hasattr(data, "shape_names"):
        fidelity = shape_fidelity(oracle, data, images, real_factors, real_images)
    else:  # e.g. MNIST: how sure the oracle is of the digit it reads, against real digits
        first = data.factor_names[0]
        fidelity = {"precision_recall": precision_recall(real_features, generated_features),
                    "confidence": {"factor": first, "generated": oracle_confidence(oracle, images, first),
                                   "real": oracle_confidence(oracle, real_images, first)}}
    return {
        **fidelity,
        "frechet_distance": distance,
        "knob_mig": knob_mig(matrix, varies),
        "knob_dci": dci,
        "knob_factor_matrix": matrix.tolist(),
        "knob_names": model.layout.latent_names,
        "factor_names": list(data.factor_names),
        "predicted_factor_entropy": entropy.tolist(),
    }
