"""Reads a directory of TensorBoard event files with TensorBoard's own
EventAccumulator and prints what it found as one JSON object:
{"scalars": {tag: [[step, value], ...]}, "images": {tag: [[step, width, height], ...]},
 "histograms": {tag: [[step, num, min, max, sum], ...]}}."""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator

accumulator = event_accumulator.EventAccumulator(
    sys.argv[1],
    size_guidance={
        event_accumulator.SCALARS: 0,
        event_accumulator.IMAGES: 0,
        event_accumulator.HISTOGRAMS: 0,
    },
)
accumulator.Reload()
tags = accumulator.Tags()
found = {
    "scalars": {
        tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
        for tag in tags["scalars"]
    },
    "images": {
        tag: [[event.step, event.width, event.height] for event in accumulator.Images(tag)]
        for tag in tags["images"]
    },
    "histograms": {
        tag: [
            [event.step, event.histogram_value.num, event.histogram_value.min,
             event.histogram_value.max, event.histogram_value.sum]
            for event in accumulator.Histograms(tag)
        ]
        for tag in tags["histograms"]
    },
}
print(json.dumps(found))
