package dev.eestream.client.consumer;

import dev.eestream.schemas.topics.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link DecryptingStream}'s step: each encrypted response record to its plaintext JSON result, or, when it is not a
 * usable answer, to the dead-letter sink with why and where in headers.
 */
final class DecryptProcessor implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(DecryptProcessor.class);

    private final ResponseDecoder decoder;
    private final ResponseRecordDecrypter reader;
    private final Consumer<DecryptedResult.BadRecord> onBadRecord;
    private ProcessorContext<String, byte[]> context;

    DecryptProcessor(ResponseDecoder decoder, ResponseDecryptor decryptor, Consumer<DecryptedResult.BadRecord> onBadRecord) {
        this.decoder = decoder;
        this.reader = new ResponseRecordDecrypter(decoder, decryptor);
        this.onBadRecord = onBadRecord;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        RecordMetadata meta = context.recordMetadata().orElseThrow(() -> new IllegalStateException("a record without metadata"));
        RecordPosition position = new RecordPosition(meta.topic(), meta.partition(), meta.offset());
        DecryptedResult result = reader.read(position, record.key(), record.value());
        if (result instanceof DecryptedResult.BadRecord bad) {
            Headers headers = DeadLetters.headers(record.headers(), bad.reason(), bad.kind().name(), position.topic(),
                    position.partition(), position.offset(), record.value());
            context.forward(new Record<>(DeadLetters.keptKey(record.key()), DeadLetters.keptValue(record.value()), record.timestamp(),
                    headers), DecryptingStream.DEAD_LETTER_SINK);
            try {
                onBadRecord.accept(bad);
            } catch (RuntimeException e) {
                // A report that fails must not fail the stream: the dead letter is written either way.
                LOG.warn("reporting a bad record failed: {}", e.toString());
            }
        } else {
            context.forward(record.withValue(result.toJson().toString().getBytes(StandardCharsets.UTF_8)),
                    DecryptingStream.PLAINTEXT_SINK);
        }
    }

    @Override
    public void close() {
        decoder.close();
    }
}
