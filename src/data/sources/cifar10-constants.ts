// Facts about CIFAR-10 shared by its loaders and by training code.

/** Class names in CIFAR-10's label order (label i is CIFAR10_CLASSES[i]). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

/** Official download of the binary release and its published MD5. */
export const CIFAR10_BINARY_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_BINARY_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/**
 * Per-channel mean and standard deviation of the training images on a 0..1 scale (R, G, B).
 * The std is the true per-pixel std over the training set; the widely copied 0.2023/0.1994/0.2010
 * is a per-image average and slightly smaller.
 */
export const CIFAR10_MEAN: readonly [number, number, number] = Object.freeze([0.4914, 0.4822, 0.4465]) as readonly [number, number, number];
export const CIFAR10_STD: readonly [number, number, number] = Object.freeze([0.247, 0.2435, 0.2616]) as readonly [number, number, number];
