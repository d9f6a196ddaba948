import torch

# The unit tests run tiny models: one thread avoids oversubscription on small machines (CI has 2 cores).
torch.set_num_threads(1)
