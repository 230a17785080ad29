package dev.eestream.client.producer;

import dev.eestream.client.consumer.DecodedResponse;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.consumer.GenerationAssembler;
import dev.eestream.client.consumer.RecordPosition;
import dev.eestream.client.consumer.ResponseDecoder;
import dev.eestream.client.consumer.ResponseDecryptor;
import dev.eestream.client.consumer.Rewind;
import dev.eestream.client.consumer.UnusableResponseException;
import dev.eestream.core.chat.ChatMessage;
import dev.eestream.core.chat.ChatTemplate;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenDecoder;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.topics.Topic;
import dev.eestream.schemas.topics.TopicAdmin;
import dev.eestream.schemas.topics.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private inference over Kafka from the trusted side: encrypts text with the client's key, sends an
 * {@link InferenceRequest}, awaits the answer on a reply topic (correlated by request id, read
 * committed) and decrypts it. Thread-safe. Build with {@link #builder()}; close it.
 *
 * <pre>{@code
 * try (EncryptedInferenceClient client = EncryptedInferenceClient.builder()
 *         .bootstrapServers("127.0.0.1:9092").key(key).profile(profile)
 *         .property("schema.registry.url", "http://127.0.0.1:8081").build()) {
 *     DecryptedResult.Classification c = client.classify("The invoice is overdue").get();
 * }
 * }</pre>
 */
public final class EncryptedInferenceClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EncryptedInferenceClient.class);
    /** How long the reply thread waits before reading again after the schema registry failed. */
    private static final long REGISTRY_RETRY_MS = 1_000;

    private final ClientProfile profile;
    private final PrivateTokenizer tokenizer;
    private final CipherVocabulary vocab;
    private final ResponseDecryptor decryptor;
    private final KafkaProducer<String, InferenceRequest> producer;
    private final KafkaConsumer<String, byte[]> consumer;
    private final ResponseDecoder replyDecoder;
    private final Topic<InferenceRequest> requestsTopic;
    private final Topic<InferenceResponse> replyTopic;
    private final Duration timeout;
    private final int maxInFlight;
    private final Map<String, PendingReply> pending = new ConcurrentHashMap<>();
    private final Thread poller;
    private final Counter sentCounter;
    private final Counter okCounter;
    private final Counter errorCounter;
    private final Counter timeoutCounter;
    private final Counter badReplyCounter;
    private final Timer roundTrip;
    private volatile boolean closed;

    private EncryptedInferenceClient(Builder b) throws IOException {
        this.profile = b.profile;
        this.requestsTopic = Topics.REQUESTS.named(b.requestsTopic);
        this.replyTopic = Topics.REPLIES.named(b.replyTopic);
        this.timeout = b.timeout;
        this.maxInFlight = b.maxInFlight;
        TokenizerJson tokenizerJson = b.tokenizer != null ? b.tokenizer : tokenizerOf(profile);
        this.tokenizer = profile.openTokenizer(tokenizerJson, b.key);
        this.vocab = tokenizer.vocabulary();
        this.decryptor = new ResponseDecryptor(b.key, profile);
        MeterRegistry meters = b.meterRegistry;
        this.sentCounter = Counter.builder("eestream.client.requests.sent").tag("model", profile.modelId()).register(meters);
        this.okCounter = Counter.builder("eestream.client.answers").tag("model", profile.modelId()).tag("status", "ok").register(meters);
        this.errorCounter = Counter.builder("eestream.client.answers").tag("model", profile.modelId()).tag("status", "error")
                .register(meters);
        this.timeoutCounter = Counter.builder("eestream.client.timeouts").tag("model", profile.modelId()).register(meters);
        this.badReplyCounter = Counter.builder("eestream.client.bad.replies")
                .description("Records on the reply topic that could not be used (undecodable, another model or key)")
                .tag("model", profile.modelId()).register(meters);
        this.roundTrip = Timer.builder("eestream.client.round.trip").description("From send to decrypted answer")
                .tag("model", profile.modelId()).publishPercentileHistogram().register(meters);

        Map<String, Object> common = new HashMap<>(b.properties);
        common.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers);
        if (b.createReplyTopic) {
            try {
                TopicAdmin.ensure(common, List.of(TopicAdmin.Spec.of(replyTopic.name(), b.replyTopicPartitions)), Duration.ofSeconds(30));
            } catch (TopicAdmin.TopicAdminException e) {
                throw new EeException(e.getMessage(), e);
            }
        }
        Map<String, Object> producerConfig = new HashMap<>(common);
        producerConfig.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.putIfAbsent(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producerConfig.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "2");
        this.producer = new KafkaProducer<>(producerConfig, requestsTopic.keySerde().serializer(), requestsTopic.valueSerializer(common));

        Map<String, Object> consumerConfig = new HashMap<>(common);
        // Only committed answers: an aborted processor transaction must not answer twice.
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumerConfig.remove(ConsumerConfig.GROUP_ID_CONFIG);
        // Bytes, decoded here: a record that does not decode fails only its own request, never the reply thread.
        this.replyDecoder = new ResponseDecoder(common);
        this.consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        consumer.partitionsFor(replyTopic.name(), Duration.ofSeconds(30)).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
        if (partitions.isEmpty()) {
            throw new EeException("reply topic '" + replyTopic + "' does not exist");
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        // Resolve the end offsets now, before anything is sent, so no answer can slip past.
        partitions.forEach(consumer::position);
        this.poller = new Thread(this::pollAnswers, "eestream-client-replies");
        poller.setDaemon(true);
        poller.start();
    }

    public static Builder builder() {
        return new Builder();
    }

    public String replyTopic() {
        return replyTopic.name();
    }

    public ClientProfile profile() {
        return profile;
    }

    /**
     * Classifies a text; completes with the decrypted scores, or exceptionally: {@link InferenceErrorException} for an
     * ERROR answer, {@link BadReplyException} for a reply that cannot be used, a {@link TimeoutException}.
     */
    public CompletableFuture<DecryptedResult.Classification> classify(String text) {
        requireTask(Task.CLASSIFY);
        return send(new Document(UUID.randomUUID().toString(), text)).thenApply(r -> (DecryptedResult.Classification) r);
    }

    /** Embeds a text; completes with the embedding in the plaintext basis. */
    public CompletableFuture<DecryptedResult.Embedding> embed(String text) {
        requireTask(Task.EMBED);
        return send(new Document(UUID.randomUUID().toString(), text)).thenApply(r -> (DecryptedResult.Embedding) r);
    }

    /**
     * How many tokens {@link #classify} or {@link #embed} sends for {@code text} (special tokens included, after
     * truncation): what an API reports as prompt tokens. Computed here; nothing is sent.
     */
    public int tokenCount(String text) {
        return tokenizer.encodePlain(Objects.requireNonNull(text, "text")).length;
    }

    /** Sends one document; its id travels in the "id" attribute. */
    public CompletableFuture<DecryptedResult> send(Document document) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("client is closed"));
        }
        Map<String, String> attributes = new HashMap<>(document.attributes());
        attributes.put("id", document.id());
        CompletableFuture<DecryptedResult> future = new CompletableFuture<>();
        return submit(UUID.randomUUID().toString(), tokenizer.encrypt(document.text()), attributes, null, future,
                new SingleReply(future));
    }

    /**
     * Generates a continuation of {@code prompt}; completes with its text once the final record is in. The prompt
     * gets a BOS in front when the profile's tokenizer config asks for one; an empty prompt is the BOS alone.
     * Completes exceptionally with {@link InferenceErrorException} for an ERROR answer (a prompt that fills the
     * context, say), with {@link BadReplyException} for a record of it that cannot be used (undecodable, from another
     * model or key, ids outside the vocabulary) and with a {@link TimeoutException} when the whole generation takes
     * longer than the timeout.
     */
    public CompletableFuture<DecryptedResult.Generation> generate(String prompt, GenerationOptions options) {
        return generate(prompt, options, null);
    }

    /**
     * Generates as {@link #generate(String, GenerationOptions)}, handing {@code onTextDelta} the text of the tokens
     * as they arrive (from the client's reply thread; never half a character, never the final stop token). Their
     * concatenation is the result's text. Ask for {@link GenerationOptions#stream()} to get the text in chunks while
     * it is generated; without it, the whole text arrives at once. A listener that throws fails the generation.
     * Cancelling the returned future also asks the processor to stop the generation and free its slot.
     */
    public CompletableFuture<DecryptedResult.Generation> generate(String prompt, GenerationOptions options,
            Consumer<String> onTextDelta) {
        requireTask(Task.GENERATE);
        Objects.requireNonNull(prompt, "prompt");
        return startGeneration(PromptIds.prompt(tokenizer.encodePlain(prompt), profile.generation()), options, onTextDelta);
    }

    /**
     * Generates the assistant's reply to a conversation, rendered with the model's chat template (with the
     * generation prompt that opens the reply). The template places any BOS itself, as transformers'
     * {@code apply_chat_template} does.
     */
    public CompletableFuture<DecryptedResult.Generation> chat(List<ChatMessage> messages, GenerationOptions options) {
        return chat(messages, options, null);
    }

    /** {@link #chat(List, GenerationOptions)}, streaming text to {@code onTextDelta} as it arrives. */
    public CompletableFuture<DecryptedResult.Generation> chat(List<ChatMessage> messages, GenerationOptions options,
            Consumer<String> onTextDelta) {
        requireTask(Task.GENERATE);
        ClientProfile.Generation g = profile.generation();
        if (g == null || g.chatTemplate() == null) {
            throw EeException.fixedBy("tokenizerConfig", "model '" + profile.modelId() + "' has no chat template in its "
                    + "profile (the profile takes it from the model's tokenizer_config.json when the model is encrypted)");
        }
        String rendered = new ChatTemplate(g.chatTemplate(), g.bosToken(), g.eosToken(), Clock.systemDefaultZone())
                .render(List.copyOf(messages), true);
        long[] ids = tokenizer.encodePlain(rendered);
        if (ids.length == 0) {
            throw new EeException("the chat template rendered the conversation to no tokens");
        }
        return startGeneration(ids, options, onTextDelta);
    }

    private CompletableFuture<DecryptedResult.Generation> startGeneration(long[] plainPrompt, GenerationOptions options,
            Consumer<String> onTextDelta) {
        Objects.requireNonNull(options, "options");
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("client is closed"));
        }
        List<Long> extraStops = new ArrayList<>(options.stopTokenIds());
        for (String stop : options.stopStrings()) {
            extraStops.add(PromptIds.stopStringId(stop, tokenizer.encodePlain(stop), profile.generation()));
        }
        Set<Long> plainStops = PromptIds.stops(profile.generation(), extraStops, vocab.plainSize());
        // Every ciphertext id of a stop token stops: with homophones the model may emit any of them.
        List<Long> cipherStops = new ArrayList<>(plainStops.size());
        plainStops.forEach(id -> Arrays.stream(vocab.cipherIdsOf(id.intValue())).forEach(cipherStops::add));
        long[] cipherPrompt = tokenizer.encryptIds(plainPrompt);
        GenerationParams params = GenerationParams.newBuilder().setMaxNewTokens(options.maxNewTokens())
                .setTemperature(options.temperature()).setTopP(options.topP()).setTopK(options.topK())
                .setSeed(options.seed().orElse(null)).setStopTokenIds(cipherStops).setStream(options.stream()).build();
        String requestId = UUID.randomUUID().toString();
        CompletableFuture<DecryptedResult.Generation> future = new CompletableFuture<>();
        TokenDecoder decoder = tokenizer::decodePlain;
        GenerationAssembler assembler = new GenerationAssembler(requestId, vocab, decoder, plainStops, onTextDelta, System.nanoTime());
        CompletableFuture<DecryptedResult.Generation> answer = submit(requestId, cipherPrompt, Map.of(), params, future,
                new GenerationReply(assembler, future));
        GenerationFuture outer = new GenerationFuture(requestId, future);
        answer.whenComplete((g, e) -> {
            if (e == null) {
                outer.complete(g);
            } else {
                outer.completeExceptionally(e);
            }
        });
        return outer;
    }

    /**
     * A generation's future. Cancelling it ({@link #cancel(boolean)}) stops listening and asks the processor to stop
     * the generation: a cancel record goes to the requests topic with the request's id as key (so to the same
     * partition, after the request), and the processor frees the sequence's slot and answers the request ERROR.
     */
    private final class GenerationFuture extends CompletableFuture<DecryptedResult.Generation> {
        private final String requestId;
        private final CompletableFuture<DecryptedResult.Generation> reply;

        GenerationFuture(String requestId, CompletableFuture<DecryptedResult.Generation> reply) {
            this.requestId = requestId;
            this.reply = reply;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            if (cancelled) {
                reply.cancel(false); // stops waiting for the answer: its handler leaves the pending map
                sendCancel(requestId);
            }
            return cancelled;
        }
    }

    private void sendCancel(String requestId) {
        if (closed) {
            return;
        }
        InferenceRequest cancel = InferenceRequest.newBuilder().setRequestId(requestId).setModelId(profile.modelId())
                .setTokenIds(List.of()).setReplyTopic(replyTopic.name()).setCreatedAt(Instant.now()).setCancel(true).build();
        producer.send(new ProducerRecord<>(requestsTopic.name(), requestId, cancel), (meta, e) -> {
            if (e != null) {
                LOG.warn("cannot send the cancel of request {}: {}", requestId, e.toString());
            }
        });
    }

    /** Registers the reply handler, sends the request and arms the timeout. */
    private <T> CompletableFuture<T> submit(String requestId, long[] cipherIds, Map<String, String> attributes,
            GenerationParams generation, CompletableFuture<T> future, PendingReply reply) {
        List<Long> boxed = new ArrayList<>(cipherIds.length);
        for (long id : cipherIds) {
            boxed.add(id);
        }
        Instant now = Instant.now();
        // The processor drops the request, or stops its generation, once no one waits for the answer.
        InferenceRequest request = InferenceRequest.newBuilder().setRequestId(requestId).setModelId(profile.modelId())
                .setTokenIds(boxed).setReplyTopic(replyTopic.name()).setCreatedAt(now).setAttributes(attributes)
                .setGeneration(generation).setDeadline(now.plus(timeout)).build();
        pending.put(requestId, reply);
        long sentAt = System.nanoTime();
        future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
            pending.remove(requestId);
            if (e == null) {
                okCounter.increment();
                roundTrip.record(System.nanoTime() - sentAt, TimeUnit.NANOSECONDS);
            } else if (e instanceof TimeoutException) {
                timeoutCounter.increment();
            } else if (e instanceof InferenceErrorException) {
                errorCounter.increment();
            }
        });
        sentCounter.increment();
        producer.send(new ProducerRecord<>(requestsTopic.name(), requestId, request), (meta, e) -> {
            if (e != null) {
                future.completeExceptionally(new EeException("cannot send request " + requestId + ": " + e.getMessage(), e));
            }
        });
        return future.exceptionallyCompose(e -> CompletableFuture.failedFuture(e instanceof TimeoutException
                ? new TimeoutException("no answer to request " + requestId + " within " + timeout.toMillis() + " ms") : e));
    }

    /** What the reply thread does with the records of one request. */
    private interface PendingReply {
        /** Takes one record; completes the request's future when it is the last one needed. */
        void onRecord(InferenceResponse response);

        void fail(Throwable error);
    }

    /** Classify and embed: one record answers the request. */
    private final class SingleReply implements PendingReply {
        private final CompletableFuture<DecryptedResult> future;

        SingleReply(CompletableFuture<DecryptedResult> future) {
            this.future = future;
        }

        @Override
        public void onRecord(InferenceResponse response) {
            DecryptedResult result = decryptor.decrypt(response);
            if (result instanceof DecryptedResult.Failure f) {
                future.completeExceptionally(new InferenceErrorException(f.requestId(), f.error()));
            } else {
                future.complete(result);
            }
        }

        @Override
        public void fail(Throwable error) {
            future.completeExceptionally(error);
        }
    }

    /** Generation: numbered chunks, then a final record. */
    private static final class GenerationReply implements PendingReply {
        private final GenerationAssembler assembler;
        private final CompletableFuture<DecryptedResult.Generation> future;

        GenerationReply(GenerationAssembler assembler, CompletableFuture<DecryptedResult.Generation> future) {
            this.assembler = assembler;
            this.future = future;
        }

        @Override
        public void onRecord(InferenceResponse response) {
            try {
                if (assembler.accept(response)) {
                    future.complete(assembler.result());
                }
            } catch (GenerationAssembler.GenerationFailedException e) {
                future.completeExceptionally(new InferenceErrorException(e.requestId(), e.reason()));
            }
        }

        @Override
        public void fail(Throwable error) {
            future.completeExceptionally(error);
        }
    }

    /** What a batch run produced. */
    public record BatchSummary(long sent, long ok, long failed, Duration elapsed) {
        public double docsPerSecond() {
            return elapsed.isZero() ? 0 : sent / (elapsed.toNanos() / 1e9);
        }
    }

    /** Receives each document's outcome in a batch run: a result, or the error. Called from client threads. */
    @FunctionalInterface
    public interface BatchListener {
        void onResult(Document document, DecryptedResult result, Throwable error);
    }

    /**
     * Sends many documents keeping at most {@code maxInFlight} unanswered, and returns when every one
     * is answered or has failed. ERROR responses and timeouts reach the listener; nothing is dropped.
     */
    public BatchSummary runBatch(Iterable<Document> documents, BatchListener listener) throws InterruptedException {
        Semaphore window = new Semaphore(maxInFlight);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long sent = 0;
        long start = System.nanoTime();
        for (Document d : documents) {
            window.acquire();
            sent++;
            send(d).whenComplete((r, e) -> {
                try {
                    Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                    (cause == null ? ok : failed).incrementAndGet();
                    listener.onResult(d, r, cause);
                } catch (RuntimeException listenerFailure) {
                    LOG.warn("batch listener failed for document {}: {}", d.id(), listenerFailure.toString());
                } finally {
                    window.release();
                }
            });
        }
        window.acquire(maxInFlight);
        window.release(maxInFlight);
        return new BatchSummary(sent, ok.get(), failed.get(), Duration.ofNanos(System.nanoTime() - start));
    }

    /** The reply thread: reads the reply topic as bytes and hands each of this client's records to its request. */
    private void pollAnswers() {
        try {
            while (!closed) {
                List<ConsumerRecord<String, byte[]>> polled = new ArrayList<>();
                consumer.poll(Duration.ofMillis(100)).forEach(polled::add);
                for (int i = 0; i < polled.size(); i++) {
                    ConsumerRecord<String, byte[]> rec = polled.get(i);
                    try {
                        handleReply(rec);
                    } catch (SchemaRegistryException e) {
                        // The registry, not the record, failed: read this record and the rest again after a pause.
                        LOG.warn("cannot read replies on {}: the schema registry failed ({}); retrying in {} ms", replyTopic,
                                e.getMessage(), REGISTRY_RETRY_MS);
                        Rewind.toUnhandled(consumer, polled, i);
                        Thread.sleep(REGISTRY_RETRY_MS);
                        break;
                    } catch (RuntimeException e) {
                        // Whatever one record does, the replies of every other request keep flowing.
                        LOG.warn("cannot handle the record at {}-{}@{} on the reply topic: {}", rec.topic(), rec.partition(),
                                rec.offset(), e.toString());
                    }
                }
            }
        } catch (WakeupException e) {
            // close() woke us up
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("reading answers from {} failed: {}", replyTopic, e.toString());
            pending.values().forEach(r -> r.fail(e));
        }
    }

    /** One record of the reply topic: to its request, when it is this client's; a record that cannot be used fails it. */
    private void handleReply(ConsumerRecord<String, byte[]> rec) {
        RecordPosition position = new RecordPosition(rec.topic(), rec.partition(), rec.offset());
        DecodedResponse decoded = replyDecoder.decode(position, rec.key(), rec.value());
        if (decoded instanceof DecodedResponse.Unreadable unreadable) {
            badReply(unreadable.badRecord());
            return;
        }
        InferenceResponse response = ((DecodedResponse.Readable) decoded).response();
        PendingReply reply = pending.get(response.getRequestId());
        if (reply == null) {
            return; // another client's answer on a shared reply topic, or one that timed out
        }
        try {
            if (response.getStatus() == ResponseStatus.OK) {
                decryptor.requireOwn(response); // another model's or key's outputs would decrypt to garbage
            }
            reply.onRecord(response);
        } catch (UnusableResponseException e) {
            badReply(new DecryptedResult.BadRecord(position, response.getRequestId(), response.getModelId(), e.kind(),
                    e.getMessage()));
        } catch (RuntimeException e) {
            reply.fail(e);
        }
    }

    /** Fails the request the bad record names, if it is this client's; logs it either way. */
    private void badReply(DecryptedResult.BadRecord bad) {
        badReplyCounter.increment();
        LOG.warn("unusable record on the reply topic: {}", bad.summary());
        PendingReply reply = bad.requestId() == null ? null : pending.get(bad.requestId());
        if (reply != null) {
            reply.fail(new BadReplyException(bad));
        }
    }

    private void requireTask(Task task) {
        if (Task.parse(profile.task()) != task) {
            throw new EeException("model '" + profile.modelId() + "' is a " + profile.task() + " model, not " + task.id());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        producer.close(Duration.ofSeconds(10));
        consumer.wakeup();
        try {
            poller.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(Duration.ofSeconds(5));
        replyDecoder.close();
        pending.values().forEach(r -> r.fail(new IllegalStateException("client closed")));
        tokenizer.close();
    }

    private static TokenizerJson tokenizerOf(ClientProfile profile) throws IOException {
        Optional<BundledModel> bundled = BundledModel.byId(profile.tokenizer());
        return bundled.isPresent() ? bundled.get().tokenizer() : TokenizerJson.read(Path.of(profile.tokenizer()));
    }

    /** Options of an {@link EncryptedInferenceClient}. */
    public static final class Builder {
        private String bootstrapServers;
        private EeKey key;
        private ClientProfile profile;
        private TokenizerJson tokenizer;
        private final Map<String, Object> properties = new HashMap<>();
        private String requestsTopic = Topics.REQUESTS_NAME;
        private String replyTopic = Topics.REPLIES_NAME;
        private boolean createReplyTopic = true;
        private int replyTopicPartitions = 3;
        private Duration timeout = Duration.ofSeconds(60);
        private int maxInFlight = 256;
        private MeterRegistry meterRegistry = Metrics.globalRegistry;

        private Builder() {
        }

        /**
         * Where the client's metrics go: requests sent, answers received by status, timeouts and
         * round-trip time, tagged by model. Default: Micrometer's global registry.
         */
        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry);
            return this;
        }

        public Builder bootstrapServers(String servers) {
            this.bootstrapServers = servers;
            return this;
        }

        public Builder key(EeKey key) {
            this.key = key;
            return this;
        }

        /** The model's client profile (written by encrypt-model beside the model directory). */
        public Builder profile(ClientProfile profile) {
            this.profile = profile;
            return this;
        }

        /** The plaintext tokenizer; by default the one the profile names. */
        public Builder tokenizer(TokenizerJson tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /** Any Kafka client or schema registry setting (security, schema.registry.url, …). */
        public Builder property(String name, Object value) {
            properties.put(name, value);
            return this;
        }

        public Builder properties(Map<String, ?> values) {
            properties.putAll(values);
            return this;
        }

        public Builder requestsTopic(String topic) {
            this.requestsTopic = topic;
            return this;
        }

        /**
         * Where answers come back (default {@value Topics#REPLIES_NAME}, created when missing). Clients
         * may share it: each reads it from the end and takes only its own request ids. A topic of its
         * own saves a busy client from reading the others' answers.
         */
        public Builder replyTopic(String topic) {
            this.replyTopic = topic;
            return this;
        }

        public Builder createReplyTopic(boolean create) {
            this.createReplyTopic = create;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** Most unanswered requests a batch run keeps in flight. */
        public Builder maxInFlight(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1");
            }
            this.maxInFlight = n;
            return this;
        }

        public EncryptedInferenceClient build() throws IOException {
            Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(profile, "profile");
            profile.requireKey(key);
            return new EncryptedInferenceClient(this);
        }
    }
}
