/* The dedup kernels of curation/dedup/kernels.py in C, compiled when the package is installed.

Same arguments and results as the numba kernels (tests/curation/test_ckernels.py checks them against the
numba kernels and the pure-Python reference). Why C as well: a process that loads the numba kernels pays
~0.2 s to import numba and ~0.2 s for its first call (LLVM and numba's target context), even with the
machine code cached; this module loads in a millisecond, which is most of what a short `winnow curate`
waits for before its workers can start. Where it was not built (no C compiler), the numba kernels run.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t read32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* xxh32, seed 0 (the reference algorithm) */
static uint32_t xxh32(const uint8_t *buf, Py_ssize_t n) {
    const uint32_t p1 = 2654435761U, p2 = 2246822519U, p3 = 3266489917U, p4 = 668265263U, p5 = 374761393U;
    const uint8_t *p = buf, *end = buf + n;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = p1 + p2, v2 = p2, v3 = 0, v4 = 0U - p1;
        const uint8_t *limit = end - 16;
        while (p <= limit) {
            v1 = rotl32(v1 + read32(p) * p2, 13) * p1;
            v2 = rotl32(v2 + read32(p + 4) * p2, 13) * p1;
            v3 = rotl32(v3 + read32(p + 8) * p2, 13) * p1;
            v4 = rotl32(v4 + read32(p + 12) * p2, 13) * p1;
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = p5;
    }
    h += (uint32_t)n;
    while (p + 4 <= end) {
        h = rotl32(h + read32(p) * p3, 17) * p4;
        p += 4;
    }
    while (p < end) {
        h = rotl32(h + (uint32_t)(*p) * p5, 11) * p1;
        p++;
    }
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

/* The per-shingle update of the 128 minima is most of the time: vectorised, it wants AVX2 (8 lanes of
   unsigned 32-bit multiply and min). GCC on x86-64 builds it for AVX2 and for the baseline and picks one when
   the module loads, so one build runs on any x86-64 CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

CLONES static void update_minima(uint32_t *row, const uint32_t *pa, const uint32_t *pb, Py_ssize_t k, uint32_t h) {
    for (Py_ssize_t j = 0; j < k; j++) {
        uint32_t v = pa[j] * h + pb[j];
        row[j] = v < row[j] ? v : row[j];
    }
}

/* A buffer argument of `itemsize`-byte items, C-contiguous; `writable` for outputs. */
static int get_buf(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) return -1;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes expected, got %zd", name, itemsize, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define NITEMS(v) ((v).len / (v).itemsize)

/* signature_kernel(data u8, offs i64, word bool[256], lower u8[256], ngram, a u32, b u32, sig u32[n, k] out,
   counts u32[n] out) */
static PyObject *signature_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_data, *o_offs, *o_word, *o_lower, *o_a, *o_b, *o_sig, *o_counts;
    Py_ssize_t ngram;
    if (!PyArg_ParseTuple(args, "OOOOnOOOO", &o_data, &o_offs, &o_word, &o_lower, &ngram, &o_a, &o_b, &o_sig,
                          &o_counts))
        return NULL;
    Py_buffer data, offs, word, lower, a, b, sig, counts;
    Py_buffer *v[] = {&data, &offs, &word, &lower, &a, &b, &sig, &counts};
    int got = 0;
    if (get_buf(o_data, &data, 1, 0, "data") == 0) got = 1; else goto fail;
    if (get_buf(o_offs, &offs, 8, 0, "offs") == 0) got = 2; else goto fail;
    if (get_buf(o_word, &word, 1, 0, "word") == 0) got = 3; else goto fail;
    if (get_buf(o_lower, &lower, 1, 0, "lower") == 0) got = 4; else goto fail;
    if (get_buf(o_a, &a, 4, 0, "a") == 0) got = 5; else goto fail;
    if (get_buf(o_b, &b, 4, 0, "b") == 0) got = 6; else goto fail;
    if (get_buf(o_sig, &sig, 4, 1, "sig") == 0) got = 7; else goto fail;
    if (get_buf(o_counts, &counts, 4, 1, "counts") == 0) got = 8; else goto fail;
    {
        const uint8_t *d = data.buf, *wt = word.buf, *lo = lower.buf;
        const int64_t *of = offs.buf;
        const uint32_t *pa = a.buf, *pb = b.buf;
        uint32_t *ps = sig.buf, *pc = counts.buf;
        Py_ssize_t nd = NITEMS(offs) - 1, k = NITEMS(a);
        if (nd < 0) nd = 0;
        if (NITEMS(word) < 256 || NITEMS(lower) < 256 || NITEMS(b) != k || NITEMS(sig) != nd * k ||
            NITEMS(counts) < nd || ngram < 1 || (nd > 0 && (of[0] < 0 || of[nd] > NITEMS(data)))) {
            PyErr_SetString(PyExc_ValueError, "signature_kernel: inconsistent argument sizes");
            goto fail;
        }
        Py_ssize_t maxlen = 1;
        for (Py_ssize_t i = 0; i < nd; i++) {
            if (of[i + 1] < of[i]) {
                PyErr_SetString(PyExc_ValueError, "signature_kernel: offsets must not decrease");
                goto fail;
            }
            if (of[i + 1] - of[i] > maxlen) maxlen = of[i + 1] - of[i];
        }
        uint8_t *norm = malloc((size_t)maxlen + 1);
        Py_ssize_t *ws = malloc(sizeof(Py_ssize_t) * ((size_t)maxlen + 1));
        Py_ssize_t *we = malloc(sizeof(Py_ssize_t) * ((size_t)maxlen + 1));
        if (!norm || !ws || !we) {
            free(norm); free(ws); free(we);
            PyErr_NoMemory();
            goto fail;
        }
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t dd = 0; dd < nd; dd++) {
            Py_ssize_t ln = 0, nw = 0;
            int inword = 0;
            for (int64_t i = of[dd]; i < of[dd + 1]; i++) {
                uint8_t c = d[i];
                if (wt[c]) {
                    if (!inword) {
                        if (nw > 0) norm[ln++] = 32;
                        ws[nw++] = ln;
                        inword = 1;
                    }
                    norm[ln++] = lo[c];
                } else if (inword) {
                    we[nw - 1] = ln;
                    inword = 0;
                }
            }
            if (inword) we[nw - 1] = ln;
            uint32_t *row = ps + dd * k;
            for (Py_ssize_t j = 0; j < k; j++) row[j] = 0xFFFFFFFFU;
            if (nw == 0) {
                pc[dd] = 0;
                continue;
            }
            Py_ssize_t nsh = nw < ngram ? 1 : nw - ngram + 1;
            pc[dd] = (uint32_t)nsh;
            for (Py_ssize_t s = 0; s < nsh; s++) {
                uint32_t h = nw < ngram ? xxh32(norm, ln) : xxh32(norm + ws[s], we[s + ngram - 1] - ws[s]);
                h ^= h >> 16;
                h *= 0x85EBCA6BU;
                h ^= h >> 13;
                h *= 0xC2B2AE35U;
                h ^= h >> 16;
                update_minima(row, pa, pb, k, h);
            }
        }
        Py_END_ALLOW_THREADS
        free(norm); free(ws); free(we);
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    return NULL;
}

/* normalise_kernel(data u8, offs i64, word bool[256], lower u8[256], out u8 out, out_offs i64[n + 1] out) */
static PyObject *normalise_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_data, *o_offs, *o_word, *o_lower, *o_out, *o_oo;
    if (!PyArg_ParseTuple(args, "OOOOOO", &o_data, &o_offs, &o_word, &o_lower, &o_out, &o_oo)) return NULL;
    Py_buffer data, offs, word, lower, out, oo;
    Py_buffer *v[] = {&data, &offs, &word, &lower, &out, &oo};
    int got = 0;
    if (get_buf(o_data, &data, 1, 0, "data") == 0) got = 1; else goto fail;
    if (get_buf(o_offs, &offs, 8, 0, "offs") == 0) got = 2; else goto fail;
    if (get_buf(o_word, &word, 1, 0, "word") == 0) got = 3; else goto fail;
    if (get_buf(o_lower, &lower, 1, 0, "lower") == 0) got = 4; else goto fail;
    if (get_buf(o_out, &out, 1, 1, "out") == 0) got = 5; else goto fail;
    if (get_buf(o_oo, &oo, 8, 1, "out_offs") == 0) got = 6; else goto fail;
    {
        const uint8_t *d = data.buf, *wt = word.buf, *lo = lower.buf;
        const int64_t *of = offs.buf;
        uint8_t *po = out.buf;
        int64_t *poo = oo.buf;
        Py_ssize_t n = NITEMS(offs);
        if (n < 1 || NITEMS(oo) < n || NITEMS(word) < 256 || NITEMS(lower) < 256 || of[0] < 0 ||
            of[n - 1] > NITEMS(data) || NITEMS(out) < of[n - 1] - of[0]) {
            PyErr_SetString(PyExc_ValueError, "normalise_kernel: inconsistent argument sizes");
            goto fail;
        }
        for (Py_ssize_t i = 0; i + 1 < n; i++) {
            if (of[i + 1] < of[i]) {
                PyErr_SetString(PyExc_ValueError, "normalise_kernel: offsets must not decrease");
                goto fail;
            }
        }
        Py_BEGIN_ALLOW_THREADS
        int64_t ln = 0;
        for (Py_ssize_t dd = 0; dd + 1 < n; dd++) {
            poo[dd] = ln;
            int64_t start = ln;
            int inword = 0;
            for (int64_t i = of[dd]; i < of[dd + 1]; i++) {
                uint8_t c = d[i];
                if (wt[c]) {
                    if (!inword) {
                        if (ln > start) po[ln++] = 32;
                        inword = 1;
                    }
                    po[ln++] = lo[c];
                } else {
                    inword = 0;
                }
            }
        }
        poo[n - 1] = ln;
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    return NULL;
}

/* word_count_kernel(data u8, offs i64, out u32[n] out): runs of non-whitespace, whitespace being Unicode's
   White_Space in UTF-8 (see the numba kernel's docstring) */
static PyObject *word_count_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_data, *o_offs, *o_out;
    if (!PyArg_ParseTuple(args, "OOO", &o_data, &o_offs, &o_out)) return NULL;
    Py_buffer data, offs, out;
    Py_buffer *v[] = {&data, &offs, &out};
    int got = 0;
    if (get_buf(o_data, &data, 1, 0, "data") == 0) got = 1; else goto fail;
    if (get_buf(o_offs, &offs, 8, 0, "offs") == 0) got = 2; else goto fail;
    if (get_buf(o_out, &out, 4, 1, "out") == 0) got = 3; else goto fail;
    {
        const uint8_t *d = data.buf;
        const int64_t *of = offs.buf;
        uint32_t *po = out.buf;
        Py_ssize_t nd = NITEMS(offs) - 1;
        if (nd < 0) nd = 0;
        if (NITEMS(out) < nd || (nd > 0 && (of[0] < 0 || of[nd] > NITEMS(data)))) {
            PyErr_SetString(PyExc_ValueError, "word_count_kernel: inconsistent argument sizes");
            goto fail;
        }
        for (Py_ssize_t i = 0; i < nd; i++) {
            if (of[i + 1] < of[i]) {
                PyErr_SetString(PyExc_ValueError, "word_count_kernel: offsets must not decrease");
                goto fail;
            }
        }
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t dd = 0; dd < nd; dd++) {
            uint32_t cnt = 0;
            int prev_space = 1;
            int64_t i = of[dd], e = of[dd + 1];
            while (i < e) {
                uint8_t c = d[i];
                int w = 1, space = 0;
                if (c < 0x80) {
                    space = c == 32 || (c >= 9 && c <= 13);
                } else if (c == 0xC2 && i + 1 < e) {
                    space = d[i + 1] == 0x85 || d[i + 1] == 0xA0;
                    w = space ? 2 : 1;
                } else if (c >= 0xE1 && c <= 0xE3 && i + 2 < e) {
                    uint8_t c1 = d[i + 1], c2 = d[i + 2];
                    if (c == 0xE1)
                        space = c1 == 0x9A && c2 == 0x80;
                    else if (c == 0xE2)
                        space = (c1 == 0x80 && (c2 <= 0x8A || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF)) ||
                                (c1 == 0x81 && c2 == 0x9F);
                    else
                        space = c1 == 0x80 && c2 == 0x80;
                    w = space ? 3 : 1;
                }
                if (!space && prev_space) cnt++;
                prev_space = space;
                i += w;
            }
            po[dd] = cnt;
        }
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(v[i]);
    return NULL;
}

static PyMethodDef methods[] = {
    {"signature_kernel", signature_kernel, METH_VARARGS, "MinHash signatures of a batch (see kernels.py)."},
    {"normalise_kernel", normalise_kernel, METH_VARARGS, "Dedup words of each document, space-joined."},
    {"word_count_kernel", word_count_kernel, METH_VARARGS, "Runs of non-whitespace per document."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckernels", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&module); }
