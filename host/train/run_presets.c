/* run_presets.c: the recipes --preset starts from; every flag given on the command line overrides
 * them. Each one's accuracy, time and the machine it ran on are in docs/RESULTS.md. */
#include <stddef.h>

#include "run_options.h"

/* fast: the default; a 784-512-256-10 MLP, >= 98.2% on MNIST in 5 epochs. */
static const char *const fast_settings[] = {"layers=512,256",
                                            "epochs=5",
                                            "batch=128",
                                            "optimizer=momentum",
                                            "lr=0.1",
                                            "momentum=0.9",
                                            "schedule=cosine",
                                            "weight-decay=0",
                                            "warmup-steps=0",
                                            "dropout=0",
                                            "max-norm=0",
                                            "augment=none",
                                            NULL};
/* best: the most accurate MLP recipe measured here. */
static const char *const best_settings[] = {"layers=1024,1024",
                                            "epochs=20",
                                            "batch=128",
                                            "optimizer=nesterov",
                                            "lr=0.05",
                                            "momentum=0.9",
                                            "schedule=cosine",
                                            "weight-decay=5e-5",
                                            "warmup-steps=200",
                                            "dropout=0.2",
                                            "max-norm=0",
                                            "augment=shift=2,rotate=10,scale=0.1",
                                            NULL};
/* cnn: a small fast CNN after tuomaso/train_mnist_fast (Adam with betas 0.7/0.9, one-cycle),
 * with BatchNorm and light augmentation. */
static const char *const cnn_settings[] = {
    "arch=conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-flatten-fc256-relu-drop0.25-fc10",
    "epochs=15",
    "batch=128",
    "optimizer=adam",
    "lr=0.004",
    "beta1=0.7",
    "beta2=0.9",
    "schedule=onecycle",
    "weight-decay=0",
    "warmup-steps=0",
    "dropout=0",
    "max-norm=0",
    "augment=shift=2,rotate=10,scale=0.1",
    NULL};
/* cnn-best: the most accurate single model trained here in reasonable time: three padded 3x3
 * convolution stages (32, 64, 128 channels) with BatchNorm, a BatchNorm'd hidden layer with
 * dropout, stronger augmentation and a 15-epoch one-cycle schedule (docs/RESULTS.md). */
static const char *const cnn_best_settings[] = {
    "arch=conv32k3p1-bn-relu-pool2-conv64k3p1-bn-relu-pool2-conv128k3p1-bn-relu-pool2-flatten-fc256-bn-relu-drop0.4-"
    "fc10",
    "epochs=15",
    "batch=128",
    "optimizer=adam",
    "lr=0.003",
    "beta1=0.9",
    "beta2=0.999",
    "schedule=onecycle",
    "weight-decay=0",
    "warmup-steps=0",
    "dropout=0",
    "max-norm=0",
    "augment=shift=2.5,rotate=12,scale=0.12",
    NULL};

/* cifar: a VGG-style BatchNorm network for 3x32x32 colour images in the manner of the airbench
 * CIFAR-10 recipes (Keller Jordan): padded 3x3 conv-BN-ReLU blocks with max pooling between
 * them, global average pooling, Nesterov SGD with a one-cycle rate and weight decay, the CIFAR
 * crop and mirror images. Its CIFAR-10 accuracy is not measured here (docs/models.md). */
static const char *const cifar_settings[] = {
    "arch=conv64k3p1-bn-relu-conv128k3p1-bn-relu-pool2-conv128k3p1-bn-relu-conv256k3p1-bn-relu-pool2-"
    "conv256k3p1-bn-relu-pool2-gap-fc10",
    "epochs=20",
    "batch=512",
    "optimizer=nesterov",
    "lr=0.2",
    "momentum=0.9",
    "schedule=onecycle",
    "weight-decay=5e-4",
    "warmup-steps=0",
    "dropout=0",
    "max-norm=0",
    "augment=crop=4,flip=0.5",
    NULL};

const cm_preset run_presets[] = {
    {"fast", "784-512-256-10 MLP, SGD momentum 0.9, lr 0.1 cosine, 5 epochs", fast_settings},
    {"best",
     "784-1024-1024-10 MLP, Nesterov, lr 0.05 cosine with warm-up, dropout 0.2, weight decay 5e-5, "
     "augmentation shift=2,rotate=10,scale=0.1, 20 epochs",
     best_settings},
    {"cnn",
     "CNN conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-flatten-fc256-relu-drop0.25-fc10, Adam (0.7, 0.9) "
     "lr 0.004 one-cycle, augmentation shift=2,rotate=10,scale=0.1, 15 epochs",
     cnn_settings},
    {"cnn-best",
     "CNN conv32k3p1-bn-relu-pool2-conv64k3p1-bn-relu-pool2-conv128k3p1-bn-relu-pool2-flatten-fc256-bn-relu-drop0.4-"
     "fc10, Adam lr 0.003 one-cycle, augmentation shift=2.5,rotate=12,scale=0.12, 15 epochs",
     cnn_best_settings},
    {"cifar",
     "colour CNN conv64k3p1-bn-relu-conv128k3p1-bn-relu-pool2-conv128k3p1-bn-relu-conv256k3p1-bn-relu-pool2-"
     "conv256k3p1-bn-relu-pool2-gap-fc10, Nesterov lr 0.2 one-cycle, weight decay 5e-4, augmentation "
     "crop=4,flip=0.5, batch 512, 20 epochs (3x32x32 data such as CIFAR-10)",
     cifar_settings},
    {NULL, NULL, NULL},
};
