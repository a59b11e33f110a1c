/* Text kernels in C, compiled when the package is installed: the dedup kernels of curation/dedup/kernels.py
(MinHash signatures, normalised words, word counts) and the hashed n-gram counts of
curation/classifiers/ngram_hashing.py (the quality model's features).

Same arguments and results as their numba twins (tests/curation/test_ckernels.py and
tests/curation/test_ngram_hashing.py check them against the numba kernels, the pure-Python reference,
datasketch and scikit-learn). Why C as well: a process that loads the numba kernels pays
~0.2 s to import numba and ~0.2 s for its first call (LLVM and numba's target context), even with the
machine code cached; this module loads in a millisecond: that was most of what a `winnow curate` waited for
before its workers could start, and most of a short run's quality step. Where it was not built (no C
compiler), the numba kernels run.
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

/* A buffer argument of `itemsize`-byte integer (or bool) items, C-contiguous; `writable` for outputs. The
   format must be an integer one of that size: a float or object array of the same item size is refused, not
   read as integers. */
static int get_buf(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int integer = f[0] != '\0' && f[1] == '\0' && strchr("bB?hHiIlLqQnN", f[0]) != NULL;
    if (view->itemsize != itemsize || !integer) {
        PyErr_Format(PyExc_TypeError, "%s: integer items of %zd bytes expected, got format '%s' of %zd bytes",
                     name, itemsize, view->format ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define NITEMS(v) ((v).len / (v).itemsize)

/* One buffer argument of a kernel: the object, its item size, whether the kernel writes it, its name. */
typedef struct {
    PyObject *obj;
    Py_ssize_t itemsize;
    int writable;
    const char *name;
} BufArg;

/* Every argument's buffer (`get_buf`), or none: on an error the ones already taken are released. */
static int get_bufs(const BufArg *args, Py_buffer **views, int n) {
    for (int i = 0; i < n; i++) {
        if (get_buf(args[i].obj, views[i], args[i].itemsize, args[i].writable, args[i].name) != 0) {
            while (i-- > 0) PyBuffer_Release(views[i]);
            return -1;
        }
    }
    return 0;
}

static void release_bufs(Py_buffer **views, int n) {
    for (int i = 0; i < n; i++) PyBuffer_Release(views[i]);
}

/* Documents' offsets into `data_len` bytes: the number of documents, or -1 with a ValueError naming `kernel`
   when they start before 0, end past the data or decrease; `maxlen` (may be NULL): the longest document. */
static Py_ssize_t check_offsets(const Py_buffer *offs, Py_ssize_t data_len, const char *kernel, Py_ssize_t *maxlen) {
    const int64_t *of = offs->buf;
    Py_ssize_t nd = NITEMS(*offs) - 1, longest = 0;
    if (nd < 0) nd = 0;
    if (nd > 0 && (of[0] < 0 || of[nd] > data_len)) {
        PyErr_Format(PyExc_ValueError, "%s: inconsistent argument sizes (offsets outside the data)", kernel);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nd; i++) {
        if (of[i + 1] < of[i]) {
            PyErr_Format(PyExc_ValueError, "%s: offsets must not decrease", kernel);
            return -1;
        }
        if (of[i + 1] - of[i] > longest) longest = of[i + 1] - of[i];
    }
    if (maxlen) *maxlen = longest;
    return nd;
}

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
    const BufArg spec[] = {{o_data, 1, 0, "data"}, {o_offs, 8, 0, "offs"}, {o_word, 1, 0, "word"},
                           {o_lower, 1, 0, "lower"}, {o_a, 4, 0, "a"}, {o_b, 4, 0, "b"}, {o_sig, 4, 1, "sig"},
                           {o_counts, 4, 1, "counts"}};
    if (get_bufs(spec, v, 8) != 0) return NULL;
    {
        const uint8_t *d = data.buf, *wt = word.buf, *lo = lower.buf;
        const int64_t *of = offs.buf;
        const uint32_t *pa = a.buf, *pb = b.buf;
        uint32_t *ps = sig.buf, *pc = counts.buf;
        Py_ssize_t maxlen, k = NITEMS(a);
        Py_ssize_t nd = check_offsets(&offs, NITEMS(data), "signature_kernel", &maxlen);
        if (nd < 0) goto fail;
        if (NITEMS(word) < 256 || NITEMS(lower) < 256 || NITEMS(b) != k || NITEMS(sig) != nd * k ||
            NITEMS(counts) < nd || ngram < 1) {
            PyErr_SetString(PyExc_ValueError, "signature_kernel: inconsistent argument sizes");
            goto fail;
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
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    Py_RETURN_NONE;
fail:
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    return NULL;
}

/* normalise_kernel(data u8, offs i64, word bool[256], lower u8[256], out u8 out, out_offs i64[n + 1] out) */
static PyObject *normalise_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_data, *o_offs, *o_word, *o_lower, *o_out, *o_oo;
    if (!PyArg_ParseTuple(args, "OOOOOO", &o_data, &o_offs, &o_word, &o_lower, &o_out, &o_oo)) return NULL;
    Py_buffer data, offs, word, lower, out, oo;
    Py_buffer *v[] = {&data, &offs, &word, &lower, &out, &oo};
    const BufArg spec[] = {{o_data, 1, 0, "data"}, {o_offs, 8, 0, "offs"}, {o_word, 1, 0, "word"},
                           {o_lower, 1, 0, "lower"}, {o_out, 1, 1, "out"}, {o_oo, 8, 1, "out_offs"}};
    if (get_bufs(spec, v, 6) != 0) return NULL;
    {
        const uint8_t *d = data.buf, *wt = word.buf, *lo = lower.buf;
        const int64_t *of = offs.buf;
        uint8_t *po = out.buf;
        int64_t *poo = oo.buf;
        Py_ssize_t n = NITEMS(offs);
        if (check_offsets(&offs, NITEMS(data), "normalise_kernel", NULL) < 0) goto fail;
        if (n < 1 || NITEMS(oo) < n || NITEMS(word) < 256 || NITEMS(lower) < 256 ||
            NITEMS(out) < of[n - 1] - of[0]) {
            PyErr_SetString(PyExc_ValueError, "normalise_kernel: inconsistent argument sizes");
            goto fail;
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
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    Py_RETURN_NONE;
fail:
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    return NULL;
}

/* word_count_kernel(data u8, offs i64, out u32[n] out): runs of non-whitespace, whitespace being Unicode's
   White_Space in UTF-8 (see the numba kernel's docstring) */
static PyObject *word_count_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_data, *o_offs, *o_out;
    if (!PyArg_ParseTuple(args, "OOO", &o_data, &o_offs, &o_out)) return NULL;
    Py_buffer data, offs, out;
    Py_buffer *v[] = {&data, &offs, &out};
    const BufArg spec[] = {{o_data, 1, 0, "data"}, {o_offs, 8, 0, "offs"}, {o_out, 4, 1, "out"}};
    if (get_bufs(spec, v, 3) != 0) return NULL;
    {
        const uint8_t *d = data.buf;
        const int64_t *of = offs.buf;
        uint32_t *po = out.buf;
        Py_ssize_t nd = check_offsets(&offs, NITEMS(data), "word_count_kernel", NULL);
        if (nd < 0) goto fail;
        if (NITEMS(out) < nd) {
            PyErr_SetString(PyExc_ValueError, "word_count_kernel: inconsistent argument sizes");
            goto fail;
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
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    Py_RETURN_NONE;
fail:
    release_bufs(v, (int)(sizeof v / sizeof v[0]));
    return NULL;
}

/* MurmurHash3_x86_32, seed 0 (scikit-learn's murmurhash3_32), as a signed 32-bit value */
static int32_t murmur3_32(const uint8_t *key, Py_ssize_t len) {
    const uint32_t c1 = 0xCC9E2D51U, c2 = 0x1B873593U;
    uint32_t h = 0;
    Py_ssize_t nblocks = len / 4;
    for (Py_ssize_t b = 0; b < nblocks; b++) {
        uint32_t k = read32(key + 4 * b);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xE6546B64U;
    }
    const uint8_t *tail = key + 4 * nblocks;
    uint32_t k = 0;
    switch (len & 3) {
        case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
        case 2: k ^= (uint32_t)tail[1] << 8; /* fall through */
        case 1:
            k ^= tail[0];
            k *= c1;
            k = rotl32(k, 15);
            k *= c2;
            h ^= k;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    h ^= h >> 16;
    return (int32_t)h;
}

/* Whether the code point at buf[i] is whitespace as Python's str.isspace says; *w: its length in bytes */
static int space_at(const uint8_t *buf, int64_t i, int64_t end, int *w) {
    uint8_t b0 = buf[i];
    if (b0 < 0x80) {
        *w = 1;
        return b0 == 32 || (b0 >= 9 && b0 <= 13) || (b0 >= 28 && b0 <= 31);
    }
    if (b0 >> 5 == 6) {
        *w = 2;
        if (i + 1 >= end) return 0;
        uint32_t cp = ((uint32_t)(b0 & 0x1F) << 6) | (buf[i + 1] & 0x3F);
        return cp == 0x85 || cp == 0xA0;
    }
    if (b0 >> 4 == 14) {
        *w = 3;
        if (i + 2 >= end) return 0;
        uint32_t cp = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F);
        return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
               cp == 0x205F || cp == 0x3000;
    }
    *w = 4;
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* scikit-learn's slot of a signed 32-bit hash: abs(h) % n; for INT32_MIN (whose abs does not fit in int32)
   it takes (2^31 - 1 - (n - 1)) % n, as `_hashing_fast.pyx` does (Python's modulo: never negative) */
static inline int64_t slot_of(int32_t v, int64_t n) {
    if (v == INT32_MIN) {
        int64_t a = (int64_t)2147483647 - (n - 1);
        return ((a % n) + n) % n;
    }
    return (v < 0 ? -(int64_t)v : (int64_t)v) % n;
}

/* hash_counts_kernel(buf u8, offsets i64, n_features) -> (indptr, slots, counts) as bytes of int64: per
   document, the hash slots of its whitespace tokens and of each pair of neighbouring tokens joined by one space,
   ascending, with how often each occurs (scikit-learn's HashingVectorizer(token_pattern=r"\S+",
   ngram_range=(1, 2), alternate_sign=False, norm=None), sorted) */
static PyObject *hash_counts_kernel(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o_buf, *o_offs;
    long long n_features;
    if (!PyArg_ParseTuple(args, "OOL", &o_buf, &o_offs, &n_features)) return NULL;
    if (n_features < 1) {
        PyErr_SetString(PyExc_ValueError, "hash_counts_kernel: n_features must be positive");
        return NULL;
    }
    Py_buffer buf, offs;
    Py_buffer *v[] = {&buf, &offs};
    const BufArg spec[] = {{o_buf, 1, 0, "buf"}, {o_offs, 8, 0, "offsets"}};
    if (get_bufs(spec, v, 2) != 0) return NULL;
    PyObject *result = NULL;
    int64_t *indptr = NULL, *slots = NULL, *counts = NULL, *h = NULL, *ts = NULL, *te = NULL;
    uint8_t *scratch = NULL;
    {
        const uint8_t *b = buf.buf;
        const int64_t *of = offs.buf;
        Py_ssize_t maxlen;
        Py_ssize_t n = check_offsets(&offs, NITEMS(buf), "hash_counts_kernel", &maxlen);
        if (n < 0) goto done;
        /* a document of L bytes has at most (L + 1) / 2 tokens and 2 tokens - 1 n-grams */
        size_t cap = 1024, out = 0, tok_cap = (size_t)maxlen / 2 + 2;
        indptr = calloc((size_t)n + 1, sizeof(int64_t));
        slots = malloc(cap * sizeof(int64_t));
        counts = malloc(cap * sizeof(int64_t));
        h = malloc(2 * tok_cap * sizeof(int64_t));
        ts = malloc(tok_cap * sizeof(int64_t));
        te = malloc(tok_cap * sizeof(int64_t));
        scratch = malloc((size_t)maxlen + 2);
        if (!indptr || !slots || !counts || !h || !ts || !te || !scratch) {
            PyErr_NoMemory();
            goto done;
        }
        int failed = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t d = 0; d < n && !failed; d++) {
            int64_t i = of[d], end = of[d + 1];
            Py_ssize_t nt = 0;
            int w;
            while (i < end) {
                if (space_at(b, i, end, &w)) {
                    i += w;
                    continue;
                }
                int64_t s = i;
                while (i < end && !space_at(b, i, end, &w)) i += w;
                if (i > end) i = end;
                ts[nt] = s;
                te[nt] = i;
                nt++;
            }
            Py_ssize_t m = nt ? 2 * nt - 1 : 0;
            for (Py_ssize_t t = 0; t < nt; t++) h[t] = slot_of(murmur3_32(b + ts[t], te[t] - ts[t]), n_features);
            for (Py_ssize_t t = 0; t + 1 < nt; t++) {
                Py_ssize_t l1 = te[t] - ts[t], l2 = te[t + 1] - ts[t + 1];
                memcpy(scratch, b + ts[t], (size_t)l1);
                scratch[l1] = 32;
                memcpy(scratch + l1 + 1, b + ts[t + 1], (size_t)l2);
                h[nt + t] = slot_of(murmur3_32(scratch, l1 + 1 + l2), n_features);
            }
            qsort(h, (size_t)m, sizeof(int64_t), cmp_i64);
            if (out + (size_t)m > cap) {
                while (out + (size_t)m > cap) cap *= 2;
                int64_t *ns = realloc(slots, cap * sizeof(int64_t));
                if (ns) slots = ns;
                int64_t *nc = realloc(counts, cap * sizeof(int64_t));
                if (nc) counts = nc;
                if (!ns || !nc) {
                    failed = 1;
                    break;
                }
            }
            for (Py_ssize_t j = 0; j < m;) {
                Py_ssize_t k = j;
                while (k < m && h[k] == h[j]) k++;
                slots[out] = h[j];
                counts[out] = k - j;
                out++;
                j = k;
            }
            indptr[d + 1] = (int64_t)out;
        }
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            goto done;
        }
        result = Py_BuildValue("(y#y#y#)", (const char *)indptr, (Py_ssize_t)(((size_t)n + 1) * sizeof(int64_t)),
                               (const char *)slots, (Py_ssize_t)(out * sizeof(int64_t)), (const char *)counts,
                               (Py_ssize_t)(out * sizeof(int64_t)));
    }
done:
    free(indptr); free(slots); free(counts); free(h); free(ts); free(te); free(scratch);
    release_bufs(v, 2);
    return result;
}

static PyMethodDef methods[] = {
    {"signature_kernel", signature_kernel, METH_VARARGS, "MinHash signatures of a batch (see kernels.py)."},
    {"normalise_kernel", normalise_kernel, METH_VARARGS, "Dedup words of each document, space-joined."},
    {"word_count_kernel", word_count_kernel, METH_VARARGS, "Runs of non-whitespace per document."},
    {"hash_counts_kernel", hash_counts_kernel, METH_VARARGS, "Hashed unigram + bigram counts per document."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckernels", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ckernels(void) { return PyModule_Create(&module); }
