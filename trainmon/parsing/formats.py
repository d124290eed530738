"""The formats trainmon recognises, with one example line each (for "formats I know")."""

from __future__ import annotations

from typing import Final

KNOWN_FORMATS: Final[tuple[str, ...]] = (
    "hf-trainer: {'loss': 0.51, 'grad_norm': 1.2, 'learning_rate': 5e-05, 'epoch': 0.3} "
    "(also TRL, axolotl, LLaMA-Factory, Unsloth, sentence-transformers v3)",
    'trainer-state: trainer_state.json with "log_history": [{"loss": 0.5, "step": 20}, ...]',
    'jsonl: {"current_steps": 10, "total_steps": 100, "loss": 1.2, "lr": 1e-05} (any JSON lines)',
    "csv: epoch,train_loss,val_loss,lr then rows (Lightning metrics.csv, YOLO results.csv, timm)",
    "keras: 1875/1875 [====] - 5s 2ms/step - loss: 0.29 - accuracy: 0.91 - val_loss: 0.14",
    "lightning: Epoch 0:  97%|###| 1651/1702 [13:00<00:24, 2.11it/s, loss=0.158, v_num=0]",
    "nanogpt: iter 100: loss 4.0863, time 561.94ms, mfu 30.1%  /  step 500: train loss 3.9, "
    "val loss 4.0",
    "megatron: iteration 100/ 1000 | learning rate: 3.0E-04 | lm loss: 2.3E+00 | grad norm: 1.2 |",
    "fairseq: epoch 001:  450 / 1891 loss=11.521, ppl=1886.05, lr=8.9e-05, gnorm=1.543, "
    "num_updates=445",
    "mmengine: Epoch(train) [1][ 50/4309]  lr: 5.96e-05  grad_norm: 993.3  loss: 1111.4",
    "mmcv: Epoch [3][50/1749]\tlr: 2.000e-02, eta: 0:52:33, loss: 0.7339, grad_norm: 0.0668",
    "detectron2: iter: 199  total_loss: 3.188  loss_cls: 0.312  lr: 0.000698",
    "torchtune: Step 3 | loss:0.905 lr:2e-05  /  1|18|Loss: 1.75",
    "torchtitan: step: 10  loss:  8.1234  memory: 12.3GiB(15%)  tps: 1,234  mfu: 2.1%",
    "metric-logger: Epoch: [0]  [ 10/1251]  eta: 0:10:00  lr: 0.000001  loss: 6.9 (6.9)",
    "fastai: epoch  train_loss  valid_loss  accuracy  time, then 0  0.61  0.52  0.81  00:12",
    "sentence-transformers: Cosine-Similarity :\tPearson: 0.8123\tSpearman: 0.8234 "
    "(fit() evaluators)",
    "char-rnn: 170/9500 (epoch 0.895), train_loss = 2.844, grad/param norm = 1.3e-01",
    "key-value: step=10 loss=2.3 lr=1e-4  /  epoch: 3 | loss: 0.21  /  "
    "Epoch [3/100], Step [200/600], Loss: 0.41",
)
"""One line per format: its name, a colon, and a typical line."""
