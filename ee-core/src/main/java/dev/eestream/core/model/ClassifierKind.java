package dev.eestream.core.model;

import com.google.gson.annotations.SerializedName;
import dev.eestream.core.model.transform.ClassifierHead;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;

/** How a classify model scores its labels, which decides what its decrypted scores mean. */
public enum ClassifierKind {
    /** An embedding model with eestream's head: cosine similarity to each label's embedding. */
    @SerializedName("zero-shot")
    ZERO_SHOT,
    /** A fine-tuned classifier's own head: logits, turned into probabilities by a softmax on the client. */
    @SerializedName("own-head")
    OWN_HEAD;

    /** The kind of an EE classify model, from its output (the transform names an own head's output {@code logits}); null for other tasks. */
    public static ClassifierKind of(ModelManifest manifest) {
        if (manifest.taskKind() != Task.CLASSIFY) {
            return null;
        }
        return ClassifierHead.LOGITS.equals(manifest.output()) ? OWN_HEAD : ZERO_SHOT;
    }
}
