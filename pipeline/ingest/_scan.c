/* The tagger's mention finder (pipeline/ingest/tag.py, Matcher.find) in C.
 *
 * The same rules as the Python code it stands in for, which stays the reference (a test
 * holds the two equal): every key of a trie of lower-cased aliases and phrases is looked
 * for from each word start (and, for Korean compounds, from inside Hangul words);
 * boundaries, capitals-only aliases, `*` word endings and Korean particles are checked
 * on the original text; overlapping matches keep the leftmost longest. Character classes
 * come from Python's own tables (Py_UNICODE_ISALNUM), so they agree with str.isalnum().
 * The trie and pattern tables are built in Python and handed over as bytes of int32.
 *
 * Also the text layout (tag.py's _Layout): where sentences, paragraphs and words start,
 * and in which of them each mention is.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    PyObject_HEAD
    PyObject *tables;       /* the tuple of bytes objects the pointers below read */
    const int32_t *first;   /* node n's children are edges first[n] .. first[n + 1] - 1 */
    const int32_t *chars;   /* each edge's character, sorted within a node */
    const int32_t *child;   /* each edge's node */
    const int32_t *node_key;    /* the key ending at a node, or -1 */
    const int32_t *keys;        /* per key: length, compound, korean_end, first, end pattern */
    const int32_t *patterns;    /* per pattern: ref, exact start, exact length (-1: none),
                                   prefix, phrase */
    const int32_t *exact;       /* the characters of capitals-only aliases */
    const int32_t *particles2;  /* two-character Korean particles, pairs */
    Py_ssize_t n_particles2;
    const int32_t *particles1;  /* one-character Korean particles */
    Py_ssize_t n_particles1;
    int32_t *root;  /* the root's child for each character of the basic plane, or -1: the
                       one step taken at every word start, so a lookup, not a search */
} Scanner;

typedef struct {
    Py_ssize_t start, end, core_end;
    int32_t ref;
} Hit;

static int is_hangul(Py_UCS4 c) { return c >= 0xAC00 && c <= 0xD7A3; }

/* str.isalnum() of one character; ASCII (most of many articles) without a table lookup. */
static int is_alnum(Py_UCS4 c) {
    if (c < 128) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    return Py_UNICODE_ISALNUM(c);
}

static int32_t child_of(const Scanner *s, int32_t node, Py_UCS4 c) {
    if (node == 0 && c < 0x10000) return s->root[c];
    int32_t lo = s->first[node], hi = s->first[node + 1] - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        Py_UCS4 at = (Py_UCS4)s->chars[mid];
        if (at == c) return s->child[mid];
        if (at < c) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

static int compare_hits(const void *a, const void *b) {
    const Hit *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;  /* longest first */
    if (x->core_end != y->core_end) return x->core_end < y->core_end ? -1 : 1;
    return (x->ref > y->ref) - (x->ref < y->ref);
}

static const int32_t *table(PyObject *tables, Py_ssize_t index, Py_ssize_t *count) {
    PyObject *item = PyTuple_GET_ITEM(tables, index);
    if (!PyBytes_Check(item)) {
        PyErr_Format(PyExc_TypeError, "table %zd is not bytes", index);
        return NULL;
    }
    if (count) *count = PyBytes_GET_SIZE(item) / (Py_ssize_t)sizeof(int32_t);
    return (const int32_t *)PyBytes_AS_STRING(item);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    PyObject *tables;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &tables)) return -1;
    if (PyTuple_GET_SIZE(tables) != 9) {
        PyErr_SetString(PyExc_ValueError, "expected 9 tables");
        return -1;
    }
    Py_INCREF(tables);
    Py_XSETREF(self->tables, tables);
    if (!(self->first = table(tables, 0, NULL)) || !(self->chars = table(tables, 1, NULL)) ||
        !(self->child = table(tables, 2, NULL)) || !(self->node_key = table(tables, 3, NULL)) ||
        !(self->keys = table(tables, 4, NULL)) || !(self->patterns = table(tables, 5, NULL)) ||
        !(self->exact = table(tables, 6, NULL)) ||
        !(self->particles2 = table(tables, 7, &self->n_particles2)) ||
        !(self->particles1 = table(tables, 8, &self->n_particles1)))
        return -1;
    self->n_particles2 /= 2;
    PyMem_Free(self->root);
    self->root = PyMem_Malloc(0x10000 * sizeof(int32_t));
    if (!self->root) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t c = 0; c < 0x10000; c++) self->root[c] = -1;
    for (int32_t edge = self->first[0]; edge < self->first[1]; edge++)
        if (self->chars[edge] < 0x10000) self->root[self->chars[edge]] = self->child[edge];
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    Py_XDECREF(self->tables);
    PyMem_Free(self->root);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Where a match of pattern `p` of a key found at [start, core_end) ends, or -1. */
static Py_ssize_t match_end(const Scanner *s, const int32_t *p, int korean_end, Py_ssize_t length,
                            const Py_UCS4 *chars, Py_ssize_t size, Py_ssize_t start,
                            Py_ssize_t core_end) {
    int32_t exact_start = p[1], exact_length = p[2], prefix = p[3];
    if (exact_length >= 0) {
        for (int32_t j = 0; j < exact_length; j++)
            if (chars[start + j] != (Py_UCS4)s->exact[exact_start + j])
                return -1;
    }
    Py_ssize_t end = core_end;
    if (prefix || (korean_end && length > 1)) {
        while (end < size && is_alnum(chars[end])) end++;
        return end;
    }
    if (korean_end) {
        int taken = 0;
        if (end + 2 <= size) {
            Py_UCS4 a = chars[end], b = chars[end + 1];
            for (Py_ssize_t j = 0; j < s->n_particles2 && !taken; j++)
                if ((Py_UCS4)s->particles2[2 * j] == a && (Py_UCS4)s->particles2[2 * j + 1] == b)
                    taken = 2;
        }
        if (!taken && end < size) {
            Py_UCS4 a = chars[end];
            for (Py_ssize_t j = 0; j < s->n_particles1 && !taken; j++)
                if ((Py_UCS4)s->particles1[j] == a) taken = 1;
        }
        end += taken;
    }
    if (end < size && is_alnum(chars[end])) return -1;
    return end;
}

typedef struct {
    Hit *at;
    Py_ssize_t count, capacity;
} Hits;

static int push_hit(Hits *hits, Hit hit) {
    if (hits->count == hits->capacity) {
        Py_ssize_t capacity = hits->capacity ? 2 * hits->capacity : 64;
        Hit *grown = PyMem_Realloc(hits->at, capacity * sizeof(Hit));
        if (!grown) return -1;
        hits->at = grown;
        hits->capacity = capacity;
    }
    hits->at[hits->count++] = hit;
    return 0;
}

/* Every match of every key, on the boundaries its patterns need, unordered. */
static int find_hits(const Scanner *s, const Py_UCS4 *chars, const Py_UCS4 *lower,
                     Py_ssize_t size, Hits *hits) {
    int before_alnum = 0, before_hangul = 0;  /* the character before `start` */
    for (Py_ssize_t start = 0; start < size; start++) {
        int bound = !before_alnum, inside_hangul = before_hangul;
        before_alnum = is_alnum(chars[start]);
        before_hangul = is_hangul(chars[start]);
        if (!bound && !inside_hangul) continue;
        int32_t node = 0;
        for (Py_ssize_t last = start; last < size; last++) {
            node = child_of(s, node, lower[last]);
            if (node < 0) break;
            int32_t key = s->node_key[node];
            if (key < 0) continue;
            const int32_t *k = s->keys + 5 * key;
            if (!bound && !k[1]) continue;  /* inside a word: Korean compounds only */
            for (int32_t p = k[3]; p < k[4]; p++) {
                const int32_t *pattern = s->patterns + 5 * p;
                if (!bound && !pattern[4]) continue;  /* names never end a compound */
                Py_ssize_t end = match_end(s, pattern, k[2], k[0], chars, size, start, last + 1);
                if (end >= 0 && push_hit(hits, (Hit){start, end, last + 1, pattern[0]}) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

/* The leftmost longest of the sorted hits, flat (start, end, ref, start, end, ref, ...):
   no tuple per mention to allocate and for the garbage collector to track. */
static PyObject *leftmost_longest(const Hit *hits, Py_ssize_t count) {
    PyObject *found = PyList_New(0);
    Py_ssize_t taken_until = -1, last_start = -1, last_end = -1, span_first = 0;
    for (Py_ssize_t i = 0; found && i < count; i++) {
        const Hit *h = &hits[i];
        if (h->start >= taken_until) {
            taken_until = h->core_end;
            span_first = i;
        } else if (last_start == h->start && last_end == h->end) {
            /* A shared alias (same span) names another term; two aliases of one term
               (Росси*, Российск*) are one mention. The span's hits are hits[span_first..i). */
            int seen = 0;
            for (Py_ssize_t j = span_first; j < i && !seen; j++)
                seen = hits[j].ref == h->ref && hits[j].start == h->start && hits[j].end == h->end;
            if (seen) continue;
        } else {
            continue;  /* inside a longer match */
        }
        last_start = h->start;
        last_end = h->end;
        PyObject *values[3] = {PyLong_FromSsize_t(h->start), PyLong_FromSsize_t(h->end),
                               PyLong_FromLong(h->ref)};
        for (int j = 0; j < 3; j++) {
            if (found && (!values[j] || PyList_Append(found, values[j]) < 0)) Py_CLEAR(found);
            Py_XDECREF(values[j]);
        }
    }
    return found;
}

static PyObject *Scanner_find(Scanner *self, PyObject *args) {
    PyObject *text, *lowered;
    if (!PyArg_ParseTuple(args, "UU", &text, &lowered)) return NULL;
    if (!self->root) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner was not initialised with its tables");
        return NULL;
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_GET_LENGTH(lowered) != size) {
        PyErr_SetString(PyExc_ValueError, "lowered text of another length");
        return NULL;
    }
    /* Plain arrays of code points: one copy each, then no per-character kind switch. */
    Py_UCS4 *chars = PyUnicode_AsUCS4Copy(text);
    Py_UCS4 *lower = chars ? PyUnicode_AsUCS4Copy(lowered) : NULL;
    Hits hits = {0};
    PyObject *found = NULL;
    if (!lower) goto done;
    if (find_hits(self, chars, lower, size, &hits) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    qsort(hits.at, hits.count, sizeof(Hit), compare_hits);
    found = leftmost_longest(hits.at, hits.count);
done:
    PyMem_Free(hits.at);
    PyMem_Free(chars);
    PyMem_Free(lower);
    return found;
}

static PyMethodDef Scanner_methods[] = {
    {"find", (PyCFunction)Scanner_find, METH_VARARGS,
     "find(text, lowered) -> [start, end, ref id, start, ...], leftmost longest, in order"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipeline.ingest._scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(tables): a trie of aliases and phrases with their patterns",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};


/* ---- Layout: where sentences, paragraphs and words start (tag.py's _Layout) ---- */

typedef struct {
    Py_ssize_t *at;
    Py_ssize_t count, capacity;
} Offsets;

static int push(Offsets *o, Py_ssize_t value) {
    if (o->count == o->capacity) {
        Py_ssize_t capacity = o->capacity ? 2 * o->capacity : 64;
        Py_ssize_t *grown = PyMem_Realloc(o->at, capacity * sizeof(Py_ssize_t));
        if (!grown) return -1;
        o->at = grown;
        o->capacity = capacity;
    }
    o->at[o->count++] = value;
    return 0;
}

/* The same breaks as _Layout: a sentence starts at 0 and after the whitespace following
   . ! ? or 。 (a stop with none after it is inside a word), or after a run of line
   breaks; a paragraph at 0 and after each run of line breaks; a word where a `\w`
   character follows a non-word one. */
static int find_breaks(const Py_UCS4 *c, Py_ssize_t size, Offsets *sentences,
                       Offsets *paragraphs, Offsets *words) {
    if (push(sentences, 0) < 0 || push(paragraphs, 0) < 0) return -1;
    int before_word = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        int word = is_alnum(c[i]) || c[i] == '_';
        if (word && !before_word && push(words, i) < 0) return -1;
        before_word = word;
        if (c[i] == '\n' && (i + 1 == size || c[i + 1] != '\n') && push(paragraphs, i + 1) < 0)
            return -1;
    }
    Py_ssize_t scanned = 0;
    for (Py_ssize_t at = 0; at < size; at++) {
        Py_UCS4 here = c[at];
        int line = here == '\n';
        if (at < scanned || !(line || here == '.' || here == '!' || here == '?' || here == 0x3002))
            continue;
        Py_ssize_t end = at + 1;
        if (line) {
            while (end < size && c[end] == '\n') end++;
        } else {
            while (end < size && Py_UNICODE_ISSPACE(c[end])) end++;
            if (end == at + 1) continue;  /* a stop inside a word (3.5, U.S.) */
        }
        if (push(sentences, end) < 0) return -1;
        scanned = end;
    }
    return 0;
}

/* How many of the sorted `o` are <= value, less one: bisect_right(o, value) - 1. */
static Py_ssize_t index_of(const Offsets *o, Py_ssize_t value) {
    Py_ssize_t lo = 0, hi = o->count;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (o->at[mid] <= value) lo = mid + 1; else hi = mid;
    }
    return lo - 1;
}

static PyObject *offsets_list(const Offsets *o) {
    PyObject *list = PyList_New(o->count);
    for (Py_ssize_t i = 0; list && i < o->count; i++) {
        PyObject *value = PyLong_FromSsize_t(o->at[i]);
        if (!value) Py_CLEAR(list); else PyList_SET_ITEM(list, i, value);
    }
    return list;
}

static PyObject *indexes_list(const Offsets *o, const Py_ssize_t *starts, Py_ssize_t count) {
    PyObject *list = PyList_New(count);
    for (Py_ssize_t i = 0; list && i < count; i++) {
        PyObject *value = PyLong_FromSsize_t(index_of(o, starts[i]));
        if (!value) Py_CLEAR(list); else PyList_SET_ITEM(list, i, value);
    }
    return list;
}

static PyObject *layout(PyObject *module, PyObject *args) {
    PyObject *text, *starts_list;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyList_Type, &starts_list)) return NULL;
    Py_ssize_t size = PyUnicode_GET_LENGTH(text), count = PyList_GET_SIZE(starts_list);
    Py_UCS4 *c = PyUnicode_AsUCS4Copy(text);
    Py_ssize_t *starts = PyMem_Malloc((count ? count : 1) * sizeof(Py_ssize_t));
    Offsets sentences = {0}, paragraphs = {0}, words = {0};
    PyObject *result = NULL;
    if (!c || !starts) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        starts[i] = PyLong_AsSsize_t(PyList_GET_ITEM(starts_list, i));
        if (starts[i] == -1 && PyErr_Occurred()) goto done;
    }
    if (find_breaks(c, size, &sentences, &paragraphs, &words) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_BuildValue("(NNNNN)", offsets_list(&sentences), offsets_list(&paragraphs),
                           indexes_list(&sentences, starts, count),
                           indexes_list(&paragraphs, starts, count),
                           indexes_list(&words, starts, count));
done:
    PyMem_Free(c);
    PyMem_Free(starts);
    PyMem_Free(sentences.at);
    PyMem_Free(paragraphs.at);
    PyMem_Free(words.at);
    return result;
}

static PyMethodDef module_methods[] = {
    {"layout", layout, METH_VARARGS,
     "layout(text, starts) -> (sentence starts, paragraph starts, and for each of starts "
     "the index of its sentence, paragraph and word)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "_scan", "The tagger's mention finder and text layout in C.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&scan_module);
    if (!module) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
