# scripts/blas_core.sh: sourced by the PyTorch comparisons (compare_torch.sh, compare_torch_tta.sh)
# so that both sides run the same OpenBLAS kernels. BLAS_CORE=own (the default) leaves OpenBLAS to
# pick them for this CPU, as on a user's machine: an OPENBLAS_CORETYPE in the environment (the
# 2-core VM's sets Haswell on an AVX-512 CPU) is removed. BLAS_CORE=NAME (Haswell, SkylakeX, ...)
# sets OPENBLAS_CORETYPE=NAME for both. Prints the kernels in use; needs $bin (clmnist).
case ${BLAS_CORE:-own} in
own) unset OPENBLAS_CORETYPE ;;
*) export OPENBLAS_CORETYPE=$BLAS_CORE ;;
esac
echo "OpenBLAS kernels on both sides: $(OPENBLAS_VERBOSE=2 "$bin" --version 2>&1 | sed -n 's/.*Core: //p' | head -1)" \
    "(BLAS_CORE=${BLAS_CORE:-own})"
