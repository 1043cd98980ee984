"""The training stage: losses, augmentation, LR schedulers, callbacks, the trainer and resume.

Entry point: `toolchain.training.trainer.train(cfg, run) -> Path` (the best embedder,
`best_model.keras`). Submodules are imported lazily by their users so that importing the
package does not pull TensorFlow in.
"""
