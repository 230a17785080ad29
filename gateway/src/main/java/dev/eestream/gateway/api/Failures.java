package dev.eestream.gateway.api;

import dev.eestream.client.producer.BadReplyException;
import dev.eestream.client.producer.InferenceErrorException;
import dev.eestream.runtime.EeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Says why a request failed as the OpenAI error an application expects. */
public final class Failures {
    private Failures() {
    }

    public static OpenAiException toOpenAi(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof OpenAiException o) {
            return o;
        }
        if (t instanceof TimeoutException) {
            return OpenAiException.noAnswerInTime(t.getMessage());
        }
        if (t instanceof BadReplyException) {
            // Not the request's fault: what came back on the reply topic is broken or not for this key.
            return OpenAiException.badReply(t.getMessage());
        }
        if (t instanceof InferenceErrorException) {
            // The processor's ERROR answers are about the request (a prompt that fills the context, say).
            return new OpenAiException(400, "invalid_request_error", "the processor refused the request: " + t.getMessage(),
                    null, "processor_error");
        }
        if (t instanceof EeException || t instanceof IllegalArgumentException) {
            return OpenAiException.invalid(t.getMessage() != null && t.getMessage().startsWith("stop string") ? "stop" : null,
                    t.getMessage());
        }
        return OpenAiException.serverError("the gateway failed: " + t);
    }
}
