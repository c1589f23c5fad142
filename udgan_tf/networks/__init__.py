"""The networks of Table 5: generator G, discriminator D and the siamese networks phi_i."""

from udgan_tf.networks.conv_encoder import ConvEncoder, MinibatchStdDev
from udgan_tf.networks.generator import Generator
from udgan_tf.networks.siamese_network import RealProxyStandardization, SiameseNetwork

__all__ = ["ConvEncoder", "Generator", "MinibatchStdDev", "RealProxyStandardization", "SiameseNetwork"]
