"""The shipped experiment configs (YAML); installed as the package ``udgan_tf.configs``."""
