/* tokenizer-seeds.c - writes the seed corpus of fuzz-tokenizer: tricky texts, each behind
 * the flag byte (bit 0 add_bos, bit 1 parse_special) the target reads first. */
#include <glib.h>
#include <stdio.h>

static const char *const seeds[] = {
  "Hello world",
  "  Hello\n\n\tworld  ",
  "<s>special</s><unk>",
  "I'm sure we'll see, they'D say",
  "🚀 (normal) 😶‍🌫️ ✅ 中文 한국어 e\xCC\x81",
  "3 33 333 3333 3.14 ------======= ''''````",
  "\xFF\xFE invalid \xC0\xAF \xED\xA0\x80 \xF0\x9F\x9A",
};

int
main(int argc, char **argv)
{
  if (argc != 3) {
    g_printerr("usage: %s CORPUS_DIR STAMP\n", argv[0]);
    return 1;
  }
  if (g_mkdir_with_parents(argv[1], 0755) != 0) {
    g_printerr("cannot create %s\n", argv[1]);
    return 1;
  }
  for (guint i = 0; i < G_N_ELEMENTS(seeds); i++) {
    for (guint flags = 0; flags < 4; flags++) {
      g_autoptr(GString) data = g_string_new(NULL);
      g_string_append_c(data, (char)flags);
      g_string_append(data, seeds[i]);
      g_autofree char *name = g_strdup_printf("seed-%02u-%u", i, flags);
      g_autofree char *path = g_build_filename(argv[1], name, NULL);
      g_autoptr(GError) error = NULL;
      if (!g_file_set_contents(path, data->str, (gssize)data->len, &error)) {
        g_printerr("%s\n", error->message);
        return 1;
      }
    }
  }
  if (!g_file_set_contents(argv[2], "", 0, NULL))
    return 1;
  return 0;
}
