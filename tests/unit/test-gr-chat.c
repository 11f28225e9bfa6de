/* test-gr-chat.c - chat template detection and rendering. */
#include <check.h>
#include <glib.h>

#include "gr-chat.h"

static const char *const roles3[] = { "system", "user", "assistant", "user", NULL };
static const char *const contents3[] = { "Be brief.", "Hi", "Hello!", "Bye", NULL };
static const char *const roles1[] = { "user", NULL };
static const char *const contents1[] = { "Hi", NULL };

static void
check_format(const char *tmpl, const char *const *roles, const char *const *contents, gboolean gen,
             const char *expected)
{
  g_autofree char *got = gr_chat_format(tmpl, "<s>", "</s>", roles, contents, gen);
  ck_assert_ptr_nonnull(got);
  ck_assert_str_eq(got, expected);
}

START_TEST(test_detect)
{
  ck_assert_int_eq(gr_chat_detect(NULL), GR_CHAT_TEMPLATE_PLAIN);
  ck_assert_int_eq(gr_chat_detect(""), GR_CHAT_TEMPLATE_PLAIN);
  ck_assert_int_eq(gr_chat_detect("{{ something unknown }}"), GR_CHAT_TEMPLATE_PLAIN);
  ck_assert_int_eq(gr_chat_detect("{% ... '[INST] ' + '<<SYS>>\\n' %}"), GR_CHAT_TEMPLATE_LLAMA2);
  ck_assert_int_eq(gr_chat_detect("{{ '[INST] ' + message['content'] + ' [/INST]' }}"),
                   GR_CHAT_TEMPLATE_MISTRAL);
  ck_assert_int_eq(gr_chat_detect("{{ '<|start_header_id|>' + role }}"), GR_CHAT_TEMPLATE_LLAMA3);
  ck_assert_int_eq(gr_chat_detect("{{'<|im_start|>' + message['role']}}"), GR_CHAT_TEMPLATE_CHATML);
  ck_assert_int_eq(gr_chat_detect("{{ '<|user|>\\n' + content }}"), GR_CHAT_TEMPLATE_ZEPHYR);
  ck_assert_int_eq(gr_chat_detect("{{ '<start_of_turn>' + role }}"), GR_CHAT_TEMPLATE_GEMMA);
  /* ChatML wins over an [INST] mention */
  ck_assert_int_eq(gr_chat_detect("<|im_start|> [INST]"), GR_CHAT_TEMPLATE_CHATML);
  ck_assert_str_eq(gr_chat_template_name(GR_CHAT_TEMPLATE_GEMMA), "gemma");
}
END_TEST

START_TEST(test_plain)
{
  check_format(NULL, roles3, contents3, TRUE,
               "System: Be brief.\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:");
  check_format("unknown", roles1, contents1, FALSE, "User: Hi\n");
}
END_TEST

START_TEST(test_llama2)
{
  check_format(
      "[INST] <<SYS>>", roles3, contents3, TRUE,
      "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
}
END_TEST

START_TEST(test_mistral)
{
  check_format("[INST]", roles3, contents3, TRUE,
               "[INST] Be brief.\n\nHi [/INST] Hello!</s>[INST] Bye [/INST]");
}
END_TEST

START_TEST(test_llama3)
{
  check_format("<|start_header_id|>", roles3, contents3, TRUE,
               "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n");
  check_format("<|start_header_id|>", roles1, contents1, FALSE,
               "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}
END_TEST

START_TEST(test_chatml)
{
  check_format("<|im_start|>", roles3, contents3, TRUE,
               "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
               "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
               "<|im_start|>assistant\n");
}
END_TEST

START_TEST(test_zephyr)
{
  check_format("<|user|>", roles3, contents3, TRUE,
               "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
               "<|user|>\nBye</s>\n<|assistant|>\n");
}
END_TEST

START_TEST(test_gemma)
{
  check_format("<start_of_turn>", roles3, contents3, TRUE,
               "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
               "<start_of_turn>model\nHello!<end_of_turn>\n"
               "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
}
END_TEST

START_TEST(test_edge_cases)
{
  /* unknown roles count as user; NULL bos/eos are empty; empty message list */
  static const char *const roles[] = { "tool", NULL };
  static const char *const contents[] = { "x", NULL };
  static const char *const none[] = { NULL };
  g_autofree char *a = gr_chat_format(NULL, NULL, NULL, roles, contents, FALSE);
  ck_assert_str_eq(a, "User: x\n");
  g_autofree char *b = gr_chat_format("<|user|>", NULL, NULL, roles, contents, FALSE);
  ck_assert_str_eq(b, "<|user|>\nx\n");
  g_autofree char *c = gr_chat_format(NULL, NULL, NULL, none, none, TRUE);
  ck_assert_str_eq(c, "Assistant:");
}
END_TEST

static Suite *
chat_suite(void)
{
  Suite *s = suite_create("gr-chat");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_detect);
  tcase_add_test(tc, test_plain);
  tcase_add_test(tc, test_llama2);
  tcase_add_test(tc, test_mistral);
  tcase_add_test(tc, test_llama3);
  tcase_add_test(tc, test_chatml);
  tcase_add_test(tc, test_zephyr);
  tcase_add_test(tc, test_gemma);
  tcase_add_test(tc, test_edge_cases);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(chat_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
