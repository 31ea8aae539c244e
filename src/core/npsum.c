/* npsum.c: numpy's pairwise summation, so that sums over a row come out bit-identical to the
 * np.sum / np.add.reduce that scikit-learn uses (model runtime and importers alike). */
#include "core/internal.h"

double trove__np_sum(const double *a, size_t n)
{
    if (n < 8) {
        double r = 0.;
        for (size_t i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + (size_t)j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return trove__np_sum(a, n2) + trove__np_sum(a + n2, n - n2);
}
