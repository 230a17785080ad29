package dev.eestream.core.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.tokenizer.TinyTokenizers;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Real models' templates, as their tokenizer_config.json files hold them; expected prompts written by hand. */
class ChatTemplateTest {
    private static final Clock JULY_26 = Clock.fixed(Instant.parse("2024-07-26T10:15:30Z"), ZoneOffset.UTC);

    // Qwen2-Instruct, read through TokenizerConfig: the JSON "\n" become newlines inside the Jinja string literals.
    private static final String QWEN2_CONFIG = """
            {"bos_token": null, "eos_token": "<|im_end|>", "chat_template": "{% for message in messages %}{% if loop.first \
            and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}\
            {% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}\
            {% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"}
            """;

    // Meta-Llama-3-8B-Instruct; here the newlines are Jinja escapes ('\n') in the literals.
    private static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
            + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    // HuggingFaceH4/zephyr-7b-beta: one tag per line, so it depends on trim_blocks.
    private static final String ZEPHYR = """
            {% for message in messages %}
            {% if message['role'] == 'user' %}
            {{ '<|user|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'system' %}
            {{ '<|system|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'assistant' %}
            {{ '<|assistant|>\\n'  + message['content'] + eos_token }}
            {% endif %}
            {% if loop.last and add_generation_prompt %}
            {{ '<|assistant|>' }}
            {% endif %}
            {% endfor %}""";

    // mistralai/Mistral-7B-Instruct-v0.1: refuses roles that do not alternate.
    private static final String MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
            + "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}"
            + "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    @Test
    void chatMlFromATokenizerConfigAddsTheDefaultSystemPromptAndTheGenerationPrompt() {
        TokenizerJson tokenizer = TokenizerJson.of(TinyTokenizers.byteLevel(List.of("<|endoftext|>", "<|im_start|>",
                "<|im_end|>")), "qwen-like");
        ChatTemplate template = ChatTemplate.of(TokenizerConfig.of(QWEN2_CONFIG, "qwen2", tokenizer));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\n", template.render(List.of(ChatMessage.user("Hello")), true));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
                        + "Hello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n",
                template.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"),
                        ChatMessage.user("Bye")), false));
    }

    @Test
    void llama3PutsBosFirstAndTrimsContentBeforeEotWithFilterPrecedenceAsInJinja() {
        ChatTemplate template = new ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>", JULY_26);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                template.render(List.of(ChatMessage.system("  You are terse.  "), ChatMessage.user("What is 2+2?\n")), true));
    }

    @Test
    void zephyrRendersOneTurnPerLineBecauseBlockTagsEatTheirNewline() {
        ChatTemplate template = new ChatTemplate(ZEPHYR, "<s>", "</s>", JULY_26);
        assertEquals("<|system|>\nYou are a friendly chatbot.</s>\n<|user|>\nHi</s>\n<|assistant|>\n",
                template.render(List.of(ChatMessage.system("You are a friendly chatbot."), ChatMessage.user("Hi")), true));
        assertEquals("<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n",
                template.render(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello.")), false));
    }

    @Test
    void raiseExceptionInTheTemplateIsAClearError() {
        ChatTemplate template = new ChatTemplate(MISTRAL, "<s>", "</s>", JULY_26);
        assertEquals("<s>[INST] Hi [/INST]Hello!</s> [INST] More? [/INST]", template.render(
                List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"), ChatMessage.user("More?")), true));
        EeException e = assertThrows(EeException.class,
                () -> template.render(List.of(ChatMessage.user("Hi"), ChatMessage.user("Again")), true));
        assertEquals("the chat template refused the conversation: Conversation roles must alternate "
                + "user/assistant/user/assistant/...", e.getMessage());
        EeException system = assertThrows(EeException.class,
                () -> template.render(List.of(ChatMessage.system("S")), true));
        assertTrue(system.getMessage().contains("roles must alternate"), system.getMessage());
    }

    @Test
    void strftimeNowFormatsTheClockLikePython() {
        // Llama 3.1's date line.
        String llama31 = "{%- if not date_string is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- endif %}"
                + "Today Date: {{ date_string }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %p %%') }}";
        assertEquals("Today Date: 26 Jul 2024|2024-07-26 10:15:30 Friday AM %",
                new ChatTemplate(llama31, null, null, JULY_26).render(List.of(), false));
        EeException e = assertThrows(EeException.class,
                () -> new ChatTemplate("{{ strftime_now('%Q') }}", null, null, JULY_26).render(List.of(), false));
        assertTrue(e.getMessage().contains("%Q"), e.getMessage());
    }

    @Test
    void pythonStripWorksAndOtherPythonStringMethodsFailClearly() {
        assertEquals("[x]", new ChatTemplate("{% for m in messages %}[{{ m['content'].strip() }}]{% endfor %}", null, null,
                JULY_26).render(List.of(ChatMessage.user(" \n x \t")), false));
        EeException lstrip = assertThrows(EeException.class, () -> new ChatTemplate(
                "{{ messages[0]['content'].lstrip() }}", null, null, JULY_26).render(List.of(ChatMessage.user(" x")), false));
        assertTrue(lstrip.getMessage().contains("cannot be rendered by Jinjava") && lstrip.getMessage().contains("lstrip"),
                lstrip.getMessage());
    }

    @Test
    void unknownFiltersAndBrokenSyntaxFailInsteadOfRenderingNothing() {
        EeException filter = assertThrows(EeException.class, () -> new ChatTemplate(
                "{% for m in messages %}{{ m['content'] | pyfilter }}{% endfor %}", null, null, JULY_26)
                .render(List.of(ChatMessage.user("x")), false));
        assertEquals("the chat template uses the filter 'pyfilter', which Jinjava does not have", filter.getMessage());
        EeException syntax = assertThrows(EeException.class,
                () -> new ChatTemplate("{% if add_generation_prompt %}x", null, null, JULY_26).render(List.of(), true));
        assertTrue(syntax.getMessage().contains("endif"), syntax.getMessage());
    }

    @Test
    void missingTemplatesAreRefusedWithTheNamesThereAre() {
        TokenizerJson tokenizer = TokenizerJson.of(TinyTokenizers.byteLevel(List.of("<|im_end|>")), "t");
        TokenizerConfig config = TokenizerConfig.of("{\"eos_token\": \"<|im_end|>\", \"chat_template\": "
                + "[{\"name\": \"tool_use\", \"template\": \"T\"}]}", "c", tokenizer);
        EeException e = assertThrows(EeException.class, () -> ChatTemplate.of(config));
        assertTrue(e.getMessage().contains("no chat template named 'default'") && e.getMessage().contains("tool_use"),
                e.getMessage());
        assertEquals("T", ChatTemplate.of(config, "tool_use").render(List.of(), false));
    }
}
