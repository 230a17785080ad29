package dev.eestream.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.client.consumer.BadRecordKind;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.consumer.RecordPosition;
import dev.eestream.client.producer.BadReplyException;
import dev.eestream.client.producer.InferenceErrorException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** What an application sees for each way a request can fail. */
class FailuresTest {

    @Test
    void aReplyThatCannotBeUsedIsABadGatewayNotTheRequestsFault() {
        DecryptedResult.BadRecord bad = new DecryptedResult.BadRecord(new RecordPosition("eestream.replies", 1, 77), "req-1", null,
                BadRecordKind.UNKNOWN_SCHEMA_ID, "unknown schema id 987654");
        OpenAiException error = Failures.toOpenAi(new CompletionException(new BadReplyException(bad)));
        assertEquals(502, error.status());
        assertEquals("bad_reply", error.code());
        assertTrue(error.getMessage().contains("topic eestream.replies, partition 1, offset 77"), error.getMessage());
        assertTrue(error.getMessage().contains("unknown schema id 987654 [UNKNOWN_SCHEMA_ID]"), error.getMessage());
    }

    @Test
    void anErrorAnswerStaysTheRequestsFault() {
        OpenAiException error = Failures.toOpenAi(new InferenceErrorException("req-2", "prompt fills the context"));
        assertEquals(400, error.status());
        assertEquals("processor_error", error.code());
    }
}
