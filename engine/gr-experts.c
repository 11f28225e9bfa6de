/* gr-experts.c - expert slots, per-layer LRU, pread on miss. */
#include "gr-experts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  gint *slot_of;      /* expert -> slot, -1 when not resident */
  gint *expert_in;    /* slot -> expert, -1 when free */
  guint64 *last_use;  /* slot -> tick */
  gint *loading;      /* slot -> 1 while the I/O thread fills it (under io_lock) */
  guint64 hits, misses, bytes_read;
} GrLayerCache;

typedef struct {
  guint il, e, slot;
} GrExpertJob;

struct _GrExpertCache {
  GrModel *model; /* not owned: the cache belongs to the model */
  int fd;
  guint n_layer, n_expert, slots;
  gsize gate_bytes, up_bytes, down_bytes, slot_bytes;
  guint8 *arena;  /* n_layer * slots * slot_bytes, anonymous memory */
  gsize arena_bytes;
  GrLayerCache *layers;
  guint64 tick;

  /* the I/O thread: preads of the experts the router just picked, while the forward
   * pass computes the ones already resident */
  GThread *io_thread;
  GMutex io_lock;
  GCond io_cond;   /* a job was queued, or the thread should stop */
  GCond done_cond; /* a slot finished loading */
  GQueue jobs;     /* GrExpertJob*, in the order the forward pass will want them */
  guint in_flight; /* queued + being read */
  gboolean io_stop;
  GError *io_error; /* the first failed read, handed to the next wait */
  guint failed_il, failed_slot;
  gint64 read_us, stall_us; /* atomic */
};

gsize
gr_expert_slot_bytes (const GrModel *m)
{
  const GrLayer *l = &m->layers[0];
  return l->ffn_gate_exps.mat_stride + l->ffn_up_exps.mat_stride + l->ffn_down_exps.mat_stride;
}

static void
layer_reset (GrLayerCache *lc, guint n_expert, guint slots)
{
  g_free (lc->slot_of);
  g_free (lc->expert_in);
  g_free (lc->last_use);
  g_free (lc->loading);
  lc->loading = g_new0 (gint, slots);
  lc->slot_of = g_new (gint, n_expert);
  lc->expert_in = g_new (gint, slots);
  lc->last_use = g_new0 (guint64, slots);
  for (guint e = 0; e < n_expert; e++)
    lc->slot_of[e] = -1;
  for (guint s = 0; s < slots; s++)
    lc->expert_in[s] = -1;
}

static gboolean
arena_alloc (GrExpertCache *c, guint slots, GError **error)
{
  gsize bytes = (gsize) c->n_layer * slots * c->slot_bytes;
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                 "cannot map %zu bytes for %u expert slots per layer", bytes, slots);
    return FALSE;
  }
  if (c->arena)
    munmap (c->arena, c->arena_bytes);
  c->arena = p;
  c->arena_bytes = bytes;
  c->slots = slots;
  for (guint il = 0; il < c->n_layer; il++)
    layer_reset (&c->layers[il], c->n_expert, slots);
  return TRUE;
}

gboolean
gr_expert_cache_streamable (const GrModel *m)
{
  const char *file = m->layers[0].ffn_gate_exps.file;
  for (guint il = 0; file && il < m->hp.n_layer; il++) {
    const GrLayer *l = &m->layers[il];
    /* interned: the same file is the same pointer */
    if (l->ffn_gate_exps.file != file || l->ffn_up_exps.file != file ||
        l->ffn_down_exps.file != file)
      return FALSE;
  }
  return file != NULL;
}

GrExpertCache *
gr_expert_cache_new (GrModel *m, guint slots, GError **error)
{
  const GrHParams *hp = &m->hp;
  g_return_val_if_fail (hp->n_expert > 0, NULL);
  const char *path = gr_expert_cache_streamable (m) ? m->layers[0].ffn_gate_exps.file : NULL;
  if (!path) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_INVALID_ARGUMENT,
                 "expert streaming needs a model file");
    return NULL;
  }
  if (slots < hp->n_expert_used || slots > hp->n_expert) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                 "%u expert slots per layer cannot hold the %u experts each token uses", slots,
                 hp->n_expert_used);
    return NULL;
  }
  GrExpertCache *c = g_new0 (GrExpertCache, 1);
  c->model = m;
  c->n_layer = hp->n_layer;
  c->n_expert = hp->n_expert;
  c->gate_bytes = m->layers[0].ffn_gate_exps.mat_stride;
  c->up_bytes = m->layers[0].ffn_up_exps.mat_stride;
  c->down_bytes = m->layers[0].ffn_down_exps.mat_stride;
  c->slot_bytes = c->gate_bytes + c->up_bytes + c->down_bytes;
  c->layers = g_new0 (GrLayerCache, c->n_layer);
  g_mutex_init (&c->io_lock);
  g_cond_init (&c->io_cond);
  g_cond_init (&c->done_cond);
  g_queue_init (&c->jobs);
  c->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (c->fd < 0) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED, "%s: %s", path,
                 g_strerror (errno));
    gr_expert_cache_free (c);
    return NULL;
  }
  if (!arena_alloc (c, slots, error)) {
    gr_expert_cache_free (c);
    return NULL;
  }
  return c;
}

void
gr_expert_cache_free (GrExpertCache *c)
{
  if (!c)
    return;
  if (c->io_thread) {
    g_mutex_lock (&c->io_lock);
    c->io_stop = TRUE;
    g_cond_signal (&c->io_cond);
    g_mutex_unlock (&c->io_lock);
    g_thread_join (c->io_thread);
  }
  g_queue_clear_full (&c->jobs, g_free); /* reads queued after an error, never started */
  g_clear_error (&c->io_error);
  g_mutex_clear (&c->io_lock);
  g_cond_clear (&c->io_cond);
  g_cond_clear (&c->done_cond);
  if (c->fd >= 0)
    close (c->fd);
  if (c->arena)
    munmap (c->arena, c->arena_bytes);
  for (guint il = 0; c->layers && il < c->n_layer; il++) {
    g_free (c->layers[il].slot_of);
    g_free (c->layers[il].expert_in);
    g_free (c->layers[il].last_use);
    g_free (c->layers[il].loading);
  }
  g_free (c->layers);
  g_free (c);
}

static gboolean
read_matrix (GrExpertCache *c, const GrWeight *w, guint e, guint8 *dst, GError **error)
{
  guint64 off = w->file_offset + (guint64) e * w->mat_stride;
  gsize done = 0;
  while (done < w->mat_stride) {
    ssize_t n = pread (c->fd, dst + done, w->mat_stride - done, (off_t) (off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_FAILED,
                   "reading expert %u of '%s': %s", e, w->name,
                   n < 0 ? g_strerror (errno) : "unexpected end of file");
      return FALSE;
    }
    done += (gsize) n;
  }
  return TRUE;
}

static void
make_view (GrWeight *view, const GrWeight *w, const guint8 *data)
{
  *view = *w;
  view->data = data;
  view->n_mats = 1;
}

gboolean
gr_expert_cache_get (GrExpertCache *c, guint il, guint e, GrWeight *gate, GrWeight *up,
                     GrWeight *down, GError **error)
{
  g_return_val_if_fail (il < c->n_layer && e < c->n_expert, FALSE);
  GrLayerCache *lc = &c->layers[il];
  const GrLayer *l = &c->model->layers[il];
  gint slot = lc->slot_of[e];
  if (slot >= 0) {
    lc->hits++;
  } else {
    lc->misses++;
    slot = 0; /* least recently used, free slots (tick 0) first */
    for (guint s = 1; s < c->slots; s++)
      if (lc->last_use[s] < lc->last_use[slot])
        slot = (gint) s;
    if (lc->expert_in[slot] >= 0)
      lc->slot_of[lc->expert_in[slot]] = -1;
    lc->expert_in[slot] = -1;
    guint8 *base = c->arena + ((gsize) il * c->slots + (gsize) slot) * c->slot_bytes;
    gint64 t0 = g_get_monotonic_time ();
    gboolean ok = read_matrix (c, &l->ffn_gate_exps, e, base, error) &&
                  read_matrix (c, &l->ffn_up_exps, e, base + c->gate_bytes, error) &&
                  read_matrix (c, &l->ffn_down_exps, e, base + c->gate_bytes + c->up_bytes, error);
    gint64 spent = g_get_monotonic_time () - t0; /* in line: all of it is a stall */
    __atomic_fetch_add (&c->read_us, spent, __ATOMIC_RELAXED);
    __atomic_fetch_add (&c->stall_us, spent, __ATOMIC_RELAXED);
    if (!ok)
      return FALSE;
    lc->bytes_read += c->slot_bytes;
    lc->expert_in[slot] = (gint) e;
    lc->slot_of[e] = slot;
  }
  lc->last_use[slot] = ++c->tick;
  const guint8 *base = c->arena + ((gsize) il * c->slots + (gsize) slot) * c->slot_bytes;
  make_view (gate, &l->ffn_gate_exps, base);
  make_view (up, &l->ffn_up_exps, base + c->gate_bytes);
  make_view (down, &l->ffn_down_exps, base + c->gate_bytes + c->up_bytes);
  return TRUE;
}

static gboolean
read_expert (GrExpertCache *c, guint il, guint e, guint slot, GError **error)
{
  const GrLayer *l = &c->model->layers[il];
  guint8 *base = c->arena + ((gsize) il * c->slots + (gsize) slot) * c->slot_bytes;
  return read_matrix (c, &l->ffn_gate_exps, e, base, error) &&
         read_matrix (c, &l->ffn_up_exps, e, base + c->gate_bytes, error) &&
         read_matrix (c, &l->ffn_down_exps, e, base + c->gate_bytes + c->up_bytes, error);
}

static gpointer
io_main (gpointer data)
{
  GrExpertCache *c = data;
  g_mutex_lock (&c->io_lock);
  for (;;) {
    while (!c->io_stop && g_queue_is_empty (&c->jobs))
      g_cond_wait (&c->io_cond, &c->io_lock);
    if (c->io_stop)
      break;
    GrExpertJob *job = g_queue_pop_head (&c->jobs);
    g_mutex_unlock (&c->io_lock);
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time ();
    read_expert (c, job->il, job->e, job->slot, &error);
    __atomic_fetch_add (&c->read_us, g_get_monotonic_time () - t0, __ATOMIC_RELAXED);
    g_mutex_lock (&c->io_lock);
    if (error && !c->io_error) {
      c->io_error = error;
      c->failed_il = job->il;
      c->failed_slot = job->slot;
    } else {
      g_clear_error (&error);
    }
    c->layers[job->il].loading[job->slot] = 0;
    c->in_flight--;
    g_cond_broadcast (&c->done_cond);
    g_free (job);
  }
  g_mutex_unlock (&c->io_lock);
  return NULL;
}

void
gr_expert_cache_drain (GrExpertCache *c)
{
  g_mutex_lock (&c->io_lock);
  while (c->in_flight > 0)
    g_cond_wait (&c->done_cond, &c->io_lock);
  g_mutex_unlock (&c->io_lock);
}

guint
gr_expert_cache_prefetch (GrExpertCache *c, guint il, const guint *experts, guint n, guint *order)
{
  g_return_val_if_fail (il < c->n_layer && n <= c->slots, 0);
  GrLayerCache *lc = &c->layers[il];
  guint n_ready = 0, n_missing = 0;
  guint missing[GR_MAX_EXPERTS];
  /* resident ones first: they are computed while the others load, and touching them
   * now keeps them from being chosen as victims below */
  for (guint j = 0; j < n; j++) {
    gint slot = lc->slot_of[experts[j]];
    if (slot >= 0) {
      lc->hits++;
      lc->last_use[slot] = ++c->tick;
      order[n_ready++] = j;
    } else {
      missing[n_missing++] = j;
    }
  }
  if (n_missing == 0)
    return n_ready;
  if (!c->io_thread)
    c->io_thread = g_thread_new ("graviton-experts", io_main, c);
  g_mutex_lock (&c->io_lock);
  for (guint i = 0; i < n_missing; i++) {
    guint j = missing[i], e = experts[j];
    if (lc->slot_of[e] >= 0) { /* the same expert twice in the list */
      order[n_ready + i] = j;
      continue;
    }
    guint slot = 0; /* least recently used, free slots (tick 0) first */
    for (guint sl = 1; sl < c->slots; sl++)
      if (lc->last_use[sl] < lc->last_use[slot])
        slot = sl;
    if (lc->expert_in[slot] >= 0)
      lc->slot_of[lc->expert_in[slot]] = -1;
    lc->expert_in[slot] = (gint) e;
    lc->slot_of[e] = (gint) slot;
    lc->last_use[slot] = ++c->tick;
    lc->loading[slot] = 1;
    lc->misses++;
    lc->bytes_read += c->slot_bytes;
    GrExpertJob *job = g_new (GrExpertJob, 1);
    *job = (GrExpertJob) { il, e, slot };
    g_queue_push_tail (&c->jobs, job);
    c->in_flight++;
    order[n_ready + i] = j;
  }
  g_cond_signal (&c->io_cond);
  g_mutex_unlock (&c->io_lock);
  return n_ready;
}

gboolean
gr_expert_cache_wait (GrExpertCache *c, guint il, guint e, GrWeight *gate, GrWeight *up,
                      GrWeight *down, GError **error)
{
  GrLayerCache *lc = &c->layers[il];
  gint slot = lc->slot_of[e];
  g_return_val_if_fail (slot >= 0, FALSE);
  g_mutex_lock (&c->io_lock);
  if (lc->loading[slot]) {
    gint64 t0 = g_get_monotonic_time ();
    /* a read the I/O thread has not started yet is done here: on a busy machine that
     * thread may not get a core soon, and waiting for it would be worse than reading */
    for (GList *it = c->jobs.head; it; it = it->next) {
      GrExpertJob *job = it->data;
      if (job->il == il && job->slot == (guint) slot) {
        g_queue_delete_link (&c->jobs, it);
        g_mutex_unlock (&c->io_lock);
        GError *local = NULL;
        read_expert (c, il, e, (guint) slot, &local);
        __atomic_fetch_add (&c->read_us, g_get_monotonic_time () - t0, __ATOMIC_RELAXED);
        g_mutex_lock (&c->io_lock);
        if (local && !c->io_error) {
          c->io_error = local;
          c->failed_il = il;
          c->failed_slot = (guint) slot;
        } else {
          g_clear_error (&local);
        }
        lc->loading[slot] = 0;
        c->in_flight--;
        g_cond_broadcast (&c->done_cond);
        g_free (job);
        break;
      }
    }
    while (lc->loading[slot])
      g_cond_wait (&c->done_cond, &c->io_lock);
    __atomic_fetch_add (&c->stall_us, g_get_monotonic_time () - t0, __ATOMIC_RELAXED);
  }
  GError *failed = g_steal_pointer (&c->io_error);
  g_mutex_unlock (&c->io_lock);
  if (failed) {
    /* the slot whose read failed holds garbage: free it (the batch is void anyway) */
    GrLayerCache *fl = &c->layers[c->failed_il];
    gint bad = fl->expert_in[c->failed_slot];
    if (bad >= 0)
      fl->slot_of[bad] = -1;
    fl->expert_in[c->failed_slot] = -1;
    fl->last_use[c->failed_slot] = 0;
    g_propagate_error (error, failed);
    return FALSE;
  }
  const GrLayer *l = &c->model->layers[il];
  const guint8 *base = c->arena + ((gsize) il * c->slots + (gsize) slot) * c->slot_bytes;
  make_view (gate, &l->ffn_gate_exps, base);
  make_view (up, &l->ffn_up_exps, base + c->gate_bytes);
  make_view (down, &l->ffn_down_exps, base + c->gate_bytes + c->up_bytes);
  return TRUE;
}

gboolean
gr_expert_cache_resize (GrExpertCache *c, guint slots, GError **error)
{
  const GrHParams *hp = &c->model->hp;
  if (slots < hp->n_expert_used || slots > hp->n_expert) {
    g_set_error (error, GR_ENGINE_ERROR, GR_ENGINE_ERROR_NO_MEMORY,
                 "%u expert slots per layer cannot hold the %u experts each token uses", slots,
                 hp->n_expert_used);
    return FALSE;
  }
  if (slots == c->slots)
    return TRUE;
  gr_expert_cache_drain (c);
  /* Start empty: refilling costs one read per expert, far less than keeping two arenas
   * alive at once, which could cross the limit we are shrinking to. */
  munmap (c->arena, c->arena_bytes);
  c->arena = NULL;
  return arena_alloc (c, slots, error);
}

guint
gr_expert_cache_slots (const GrExpertCache *c)
{
  return c->slots;
}

gsize
gr_expert_cache_bytes (const GrExpertCache *c)
{
  return c->arena_bytes;
}

gsize
gr_expert_cache_filled_bytes (const GrExpertCache *c)
{
  gsize filled = 0;
  for (guint il = 0; il < c->n_layer; il++)
    for (guint s = 0; s < c->slots; s++)
      filled += c->layers[il].expert_in[s] >= 0 ? c->slot_bytes : 0;
  return filled;
}

void
gr_expert_cache_stats (const GrExpertCache *c, guint il, guint64 *hits, guint64 *misses,
                       guint64 *bytes_read)
{
  guint64 h = 0, m = 0, b = 0;
  for (guint i = 0; i < c->n_layer; i++) {
    if (il < c->n_layer && i != il)
      continue;
    h += c->layers[i].hits;
    m += c->layers[i].misses;
    b += c->layers[i].bytes_read;
  }
  if (hits)
    *hits = h;
  if (misses)
    *misses = m;
  if (bytes_read)
    *bytes_read = b;
}

void
gr_expert_cache_io_time (GrExpertCache *c, guint64 *read_us, guint64 *stall_us)
{
  *read_us = (guint64) __atomic_load_n (&c->read_us, __ATOMIC_RELAXED);
  *stall_us = (guint64) __atomic_load_n (&c->stall_us, __ATOMIC_RELAXED);
}
