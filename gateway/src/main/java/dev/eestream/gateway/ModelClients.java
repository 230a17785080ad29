package dev.eestream.gateway;

import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.runtime.model.Task;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/** One {@link EncryptedInferenceClient} per model the gateway holds a client profile for, by model id. */
public final class ModelClients implements AutoCloseable {
    private final Map<String, EncryptedInferenceClient> clients;

    public ModelClients(Map<String, EncryptedInferenceClient> clients) {
        this.clients = new TreeMap<>(clients);
    }

    public Collection<EncryptedInferenceClient> all() {
        return clients.values();
    }

    /**
     * The client of {@code model}, which must be a {@code task} model.
     *
     * @throws OpenAiException 404 for a model without a profile here, 400 for a model of another task
     */
    public EncryptedInferenceClient forTask(String model, Task task, String endpoint) {
        EncryptedInferenceClient c = clients.get(model);
        if (c == null) {
            throw OpenAiException.unknownModel(model);
        }
        ClientProfile p = c.profile();
        if (Task.parse(p.task()) != task) {
            throw OpenAiException.invalid("model", "the model '" + model + "' is a " + p.task() + " model; " + endpoint
                    + " needs a " + task.id() + " model");
        }
        return c;
    }

    @Override
    public void close() {
        clients.values().forEach(EncryptedInferenceClient::close);
    }
}
