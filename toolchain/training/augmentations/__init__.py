"""Data augmentation functions, one module per family (color, geometry, misc), all registered in
`base.AUGMENTATIONS`. `toolchain.training.augmentation` turns a config list into a Keras layer."""
